from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Incidents")

    def ready(self):
        from django.core.cache.backends.dummy import DummyCache
        from unfold import sites as unfold_sites

        from config.kit.lists import render_labels_once, share_headers
        from incidents import access, audit, reasons, signals

        reasons.register()
        # Every change of roles, departments, supervisors and stage ownership is kept.
        audit.connect()
        # What a person may see of confidential projects is read again once they change.
        access.connect()
        # Changes that may take rights away are told on commit (the chat closes sockets).
        signals.connect()
        # Unfold keeps each person's Ctrl+K answers for five minutes, by term alone: a project
        # restricted meanwhile, or another language, would still be answered as before.
        unfold_sites.cache = DummyCache("ctrl-k", {})
        # A list's rows share its column headers instead of rebuilding them each
        # (config/kit/lists.py).
        share_headers()
        # And their coloured labels are rendered once per value, not once per cell.
        render_labels_once()
