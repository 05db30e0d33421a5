from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("Chat")

    def ready(self):
        from django.db.models.signals import post_migrate

        from messaging.search import sqlite_index_repair

        post_migrate.connect(sqlite_index_repair, sender=self)

        from incidents.signals import incident_changed, record_added
        from locations.signals import device_moved
        from messaging import events

        # The devices app knows no chat: it tells of moves, the chat tells the incident's room.
        device_moved.connect(events.device_moved_committed, dispatch_uid="messaging.device_moved")
        # Nor does the workflow: it tells of its changes, the chat tells the incident's room,
        # its open pages and the dashboards.
        incident_changed.connect(
            events.incident_changed_committed, dispatch_uid="messaging.incident_changed"
        )
        record_added.connect(events.record_added_committed, dispatch_uid="messaging.record_added")

        from incidents import contributions
        from messaging import selectors

        # What the workflow's pages show of the chat, read by the chat: what was marked as
        # evidence in an incident's room (also in its reports and beside similar incidents),
        # and unread messages.
        contributions.register(
            evidence=selectors.incident_evidence,
            evidence_by_incident=selectors.evidence_by_incident,
            unread_by_incident=selectors.unread_by_incident,
            unread_incident_ids=selectors.unread_incident_ids,
        )

        from incidents.signals import access_changed
        from messaging.rights import access_changed_committed

        # Rights taken away: the sockets of whoever lost them are checked and closed.
        access_changed.connect(access_changed_committed, dispatch_uid="messaging.access_changed")

        from config.kit.processes import process_beat
        from messaging.presence import process_beat_received

        # An app process died: the people connected through it show offline once its heartbeat
        # lapses, told by the next beat of any app process alive.
        process_beat.connect(process_beat_received, dispatch_uid="messaging.process_beat")
