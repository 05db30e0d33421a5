import json

from django.core.management.base import BaseCommand

from config.status import system_status


class Command(BaseCommand):
    help = (
        "How the site is doing: database, Redis, app processes and workers alive, the task "
        "queue, the disk of uploaded files, the last backup. Exits 1 when something needs "
        "attention (usable from cron or a monitoring check)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print it as JSON.")

    def handle(self, *args, **options):
        status = system_status()
        if options["json"]:
            self.stdout.write(json.dumps(status, indent=1, default=str))
        else:
            queue = status["queue"] or {}
            backup = status["backup"]
            disk = status["media_disk"]
            rows = [
                ("database", status["database"]),
                ("redis", status["redis"]),
                ("app processes", len(status["apps"])),
                ("workers", len(status["workers"])),
                (
                    "queue",
                    f"{queue.get('waiting', '?')} waiting, {queue.get('running', '?')} running",
                ),
                ("media disk", f"{disk['free'] / 1e9:.1f} GB free of {disk['total'] / 1e9:.1f} GB"),
                (
                    "last backup",
                    "not watched (BACKUP_DIR unset)"
                    if backup is None
                    else f"{backup['at'] or 'none'} ({backup['size'] / 1e6:.1f} MB)",
                ),
            ]
            for name, value in rows:
                self.stdout.write(f"{name:>14}: {value}")
            self.stdout.write("OK" if status["ok"] else "NEEDS ATTENTION")
        if not status["ok"]:
            raise SystemExit(1)
