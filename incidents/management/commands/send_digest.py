from django.core.management.base import BaseCommand

from incidents.services.digest import digest_send
from incidents.services.report_jobs import report_jobs_remove_expired
from incidents.services.webhook_sending import webhook_deliveries_remove_old


class Command(BaseCommand):
    help = (
        "E-mail each supervisor the daily digest of their departments (new, overdue, waiting "
        "for review), in their language. Run it once each morning (cron or adt-digest.timer)."
    )

    def handle(self, *args, **options):
        sent = digest_send()
        self.stdout.write(self.style.SUCCESS(f"{sent} digest(s) sent."))
        # The daily timer also removes the reports and the webhook deliveries kept past their
        # retention period.
        removed = report_jobs_remove_expired()
        self.stdout.write(f"{removed} report file(s) past their retention period removed.")
        removed = webhook_deliveries_remove_old()
        self.stdout.write(f"{removed} webhook deliveries past their retention period removed.")
