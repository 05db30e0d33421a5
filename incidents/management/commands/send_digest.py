from django.core.management.base import BaseCommand

from incidents.services.digest import digest_send


class Command(BaseCommand):
    help = (
        "E-mail each supervisor the daily digest of their departments (new, overdue, waiting "
        "for review), in their language. Run it once each morning (cron or adt-digest.timer)."
    )

    def handle(self, *args, **options):
        sent = digest_send()
        self.stdout.write(self.style.SUCCESS(f"{sent} digest(s) sent."))
