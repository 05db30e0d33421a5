from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("Chat")

    def ready(self):
        from django.db.models.signals import post_migrate

        from messaging.search import sqlite_index_repair

        post_migrate.connect(sqlite_index_repair, sender=self)

        from locations.signals import device_moved
        from messaging.events import device_moved_committed

        # The devices app knows no chat: it tells of moves, the chat tells the incident's room.
        device_moved.connect(device_moved_committed, dispatch_uid="messaging.device_moved")

        from incidents.signals import access_changed
        from messaging.rights import access_changed_committed

        # Rights taken away: the sockets of whoever lost them are checked and closed.
        access_changed.connect(access_changed_committed, dispatch_uid="messaging.access_changed")
