from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from config.status import start_heartbeat
from incidents.services.legacy import legacy_import_fail_stalled


class Command(DatabaseWorkerCommand):
    help = (
        "Run the background worker (legacy workbook imports). On start it marks failed the "
        "imports whose worker died, so that they can be started again; then it works the queue."
    )

    def handle(self, *args, **options):
        start_heartbeat("worker")
        if failed := legacy_import_fail_stalled():
            self.stdout.write(f"{failed} legacy import(s) had lost their worker: marked failed.")
        super().handle(*args, **options)
