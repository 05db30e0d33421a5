from datetime import timedelta

from django.core.management.base import BaseCommand

from incidents.services.records import attachments_prune


class Command(BaseCommand):
    help = "Delete attachment files that no attachment record points to (run daily)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--minutes",
            type=int,
            default=60,
            help="Only files older than this, so uploads in progress are left alone.",
        )

    def handle(self, *args, **options):
        removed = attachments_prune(older_than=timedelta(minutes=options["minutes"]))
        for name in removed:
            self.stdout.write(f"removed {name}")
        self.stdout.write(self.style.SUCCESS(f"{len(removed)} orphaned file(s) removed."))
