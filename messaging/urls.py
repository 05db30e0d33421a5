"""The chat's HTTP addresses, mounted under the admin (login, CSRF and the admin's checks)."""

from django.contrib import admin
from django.urls import path, re_path

from messaging import views


def _admin(view):
    return admin.site.admin_view(view)


app_name = "chat"
ROOM = r"^rooms/(?P<kind>incident|problem-group)/(?P<subject_id>\d+)/"

urlpatterns = [
    re_path(ROOM + r"messages/$", _admin(views.room_messages), name="messages"),
    re_path(ROOM + r"send/$", _admin(views.room_send), name="send"),
    re_path(ROOM + r"read/$", _admin(views.room_read), name="read"),
    re_path(ROOM + r"people/$", _admin(views.room_people), name="people"),
    path("messages/<int:message_id>/edit/", _admin(views.message_edit), name="edit"),
    path("messages/<int:message_id>/delete/", _admin(views.message_delete), name="delete"),
    path(
        "messages/<int:message_id>/revisions/",
        _admin(views.message_revisions),
        name="revisions",
    ),
    path(
        "messages/<int:message_id>/evidence/",
        _admin(views.message_evidence),
        name="evidence",
    ),
    path(
        "attachments/<uuid:attachment_id>/",
        _admin(views.attachment_download),
        name="attachment",
    ),
]
