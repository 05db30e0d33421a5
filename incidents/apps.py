from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Incidents")

    def ready(self):
        from config.lists import share_headers
        from incidents import audit, reasons

        reasons.register()
        # Every change of roles, departments, supervisors and stage ownership is kept.
        audit.connect()
        # A list's rows share its column headers instead of rebuilding them each (config/lists.py).
        share_headers()
