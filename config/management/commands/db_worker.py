from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from config.kit.processes import start_heartbeat
from incidents.services.deadlines import deadlines_watch
from incidents.services.legacy import legacy_import_fail_stalled
from incidents.services.report_jobs import report_jobs_fail_stalled, report_jobs_remove_expired
from incidents.services.webhook_sending import (
    webhook_deliveries_remove_old,
    webhook_deliveries_resume,
)


class Command(DatabaseWorkerCommand):
    help = (
        "Run the background worker (legacy workbook imports, large reports and exports, webhook "
        "deliveries, and every DEADLINES_CHECK_SECONDS the escalation of incidents past their "
        "stage's deadline). On start it marks failed the jobs whose worker died, so that they "
        "can be started again, removes report files and webhook deliveries past their retention "
        "period and queues again the webhook deliveries still to send; then it works the queue."
    )

    def handle(self, *args, **options):
        start_heartbeat("worker")
        if failed := legacy_import_fail_stalled():
            self.stdout.write(f"{failed} legacy import(s) had lost their worker: marked failed.")
        if failed := report_jobs_fail_stalled():
            self.stdout.write(f"{failed} report(s) had lost their worker: marked failed.")
        if removed := report_jobs_remove_expired():
            self.stdout.write(f"{removed} report file(s) past their retention period removed.")
        if removed := webhook_deliveries_remove_old():
            self.stdout.write(f"{removed} webhook deliveries past their retention period removed.")
        if queued := webhook_deliveries_resume():
            self.stdout.write(f"{queued} webhook deliveries still to send: queued again.")
        # Not a queued task: django-tasks schedules nothing by the clock. Every worker checks;
        # each crossing is told once whichever checks first.
        if not options.get("batch"):
            deadlines_watch()
        super().handle(*args, **options)
