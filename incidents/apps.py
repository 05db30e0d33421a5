from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Incidents")

    def ready(self):
        from incidents import access, audit, dashboard, reasons, rules, signals
        from incidents.services import webhooks
        from locations.signals import device_move_written

        reasons.register()
        # Every change of roles, departments, supervisors and stage ownership is kept.
        audit.connect()
        # What a person may see of confidential projects is read again once they change.
        access.connect()
        # Only administrators correct a device's serial number (the devices app asks by a signal).
        rules.connect()
        # Changes that may take rights away are told on commit (the chat closes sockets).
        signals.connect()
        # Kept dashboard figures are counted again once a change of the workflow commits.
        # Connected here, before the chat's receivers (this app is ready first): the dashboards
        # the chat then tells to reload count anew.
        for told in (signals.incident_changed, signals.record_added):
            told.connect(dashboard.figures_changed, dispatch_uid="incidents.dashboard")
        # A move's webhook deliveries are written in its transaction (the workflow's own changes
        # write theirs in `announce`); the worker sends them once it has all committed.
        device_move_written.connect(webhooks.device_move_outbox, dispatch_uid="incidents.webhooks")
