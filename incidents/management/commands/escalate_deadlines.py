from django.core.management.base import BaseCommand

from incidents.services.deadlines import deadlines_escalate


class Command(BaseCommand):
    help = (
        "Tell once the incidents past their stage's deadline (the assignee and the supervisor at "
        "the deadline, the department's supervisors and the administrators a working day "
        "later). The background worker does this every DEADLINES_CHECK_SECONDS; this runs it "
        "once (e.g. from cron where no worker runs)."
    )

    def handle(self, *args, **options):
        told = deadlines_escalate()
        self.stdout.write(self.style.SUCCESS(f"{told} deadline crossing(s) told."))
