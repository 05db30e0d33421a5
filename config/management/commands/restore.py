from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from config.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup folder made by `backup` into this instance, whose database and "
        "media folder must be empty. Run `migrate` afterwards when upgrading."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="The backup's folder (adt-backup-…).")

    def handle(self, *args, **options):
        try:
            backup = restore_backup(options["path"])
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored the backup of {backup.created_at} "
                f"({len(backup.manifest['media'])} file(s))."
            )
        )
