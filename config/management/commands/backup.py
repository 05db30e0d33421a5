from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from config.backup import BackupError, make_backup


class Command(BaseCommand):
    help = (
        "Back up the database and the uploaded files together into one folder under --to, "
        "keeping the --keep newest backups (see config/backup.py)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--to", required=True, type=Path, help="The folder of backups.")
        parser.add_argument(
            "--keep", type=int, default=14, help="How many backups to keep (default 14)."
        )

    def handle(self, *args, **options):
        try:
            backup = make_backup(options["to"], keep=options["keep"])
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Backed up to {backup.path} ({backup.size / 1e6:.1f} MB, "
                f"{len(backup.manifest['media'])} file(s))."
            )
        )
