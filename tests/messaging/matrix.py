"""What the permission matrix (tests/config/test_permission_matrix.py) expects of the chat's
URLs and of the messages' search in the admin.
"""

from tests.permission_matrix import (
    SIGNED_IN,
    STAFF,
    SUPERVISOR_AND_UP,
    Expectation,
    at,
    delete_selected,
    given,
    pk_of,
    room_at,
    shown_to,
    written_by,
)

EXPECTATIONS: dict[str, Expectation] = {
    # The chat of an incident is read and written by whoever may see the incident: older
    # messages, whom to @mention, a message's earlier versions and its files only answer GET;
    # sending and marking as read only POST (opening the room and moving the read mark is a
    # write). Only the author edits or deletes their message; the assignee, the stage's
    # supervisors and administrators mark evidence (staff here does not work this stage).
    "chat:messages": Expectation(
        room_at("chat:messages", "waiting"), get=shown_to(*SIGNED_IN), post=shown_to()
    ),
    "chat:people": Expectation(
        room_at("chat:people", "waiting"), get=shown_to(*SIGNED_IN), post=shown_to()
    ),
    "chat:send": Expectation(
        room_at("chat:send", "waiting"),
        get=shown_to(),
        post=written_by(*SIGNED_IN),
        data=given(text="Written by the matrix"),
    ),
    "chat:read": Expectation(
        room_at("chat:read", "waiting"),
        get=shown_to(),
        post=written_by(*SIGNED_IN),
        data=given(up_to=pk_of("chat_answer")),
    ),
    "chat:edit": Expectation(
        at("chat:edit", "chat_line"),
        get=shown_to(),
        post=written_by(STAFF),
        data=given(text="Edited by the matrix"),
    ),
    "chat:delete": Expectation(
        at("chat:delete", "chat_line"), get=shown_to(), post=written_by(STAFF)
    ),
    "chat:revisions": Expectation(
        at("chat:revisions", "chat_line"), get=shown_to(*SIGNED_IN), post=shown_to()
    ),
    "chat:evidence": Expectation(
        at("chat:evidence", "chat_line"), get=shown_to(), post=written_by(*SUPERVISOR_AND_UP)
    ),
    "chat:attachment": Expectation(
        at("chat:attachment", "chat_picture"), get=shown_to(*SIGNED_IN), post=shown_to()
    ),
    # Messages are searched by whoever may see incidents; nobody adds, changes or deletes one
    # there (the list's "Delete selected" is not offered: the list is shown again).
    "admin:messaging_message_changelist": Expectation(
        at("admin:messaging_message_changelist", query="?q=pad"),
        get=shown_to(*SIGNED_IN),
        post=written_by(),
        data=delete_selected("chat_line"),
        page_counts=True,
    ),
}
