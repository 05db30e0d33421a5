"""Background work, queued in the database and run by `manage.py db_worker`. Each task is
defined beside the work it runs (its service queues it there); it is also found here, where the
tasks queued before they moved name it (`incidents.tasks.<task>`)."""

from incidents.services.legacy import legacy_import
from incidents.services.report_jobs import report_job
from incidents.services.webhook_sending import webhook_deliver

__all__ = ["legacy_import", "report_job", "webhook_deliver"]
