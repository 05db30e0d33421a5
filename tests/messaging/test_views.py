"""The chat's HTTP end (names chat:*): for every view, the anonymous are sent to log in, someone
who may not see the incident or problem group is refused and changes nothing, someone who may is
served, and bad input is answered without a crash. Sending is idempotent by client id over HTTP
and over the socket alike."""

import io
import json
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from incidents import access
from incidents.choices import WorkflowAction
from incidents.models import Employee, Notification
from messaging import services
from messaging.choices import RevisionKind
from messaging.models import (
    Evidence,
    Mention,
    Message,
    MessageAttachment,
    MessageRevision,
    Room,
    RoomMember,
)
from messaging.selectors import PAGE_SIZE
from tests.factories import EmployeeFactory, StaffFactory
from tests.fingerprint import fingerprint
from tests.incidents.test_access import restrict
from tests.incidents.test_records import SVG_NAMING_URLS, huge_png
from tests.messaging.test_consumers import connected, frames_until, next_message, silent
from tests.messaging.test_services import (
    aged,
    build_chat,
    files_on_disk,
    picture,
    say,
    text_file,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat():
    return build_chat()


@pytest.fixture
def message(chat):
    """The worker's message in the incident's room, with a picture and a log."""
    return say(chat.room, chat.worker, "The pad is lifted", files=[picture(), text_file()])


def browser(person=None) -> Client:
    client = Client()
    if person is not None:
        client.force_login(person)
    return client


def room_url(name: str, subject, kind: str = "incident") -> str:
    return reverse(f"chat:{name}", kwargs={"kind": kind, "subject_id": subject.pk})


def message_url(name: str, message) -> str:
    return reverse(f"chat:{name}", args=[message.pk])


def attachment_url(attachment, query: str = "") -> str:
    return reverse("chat:attachment", args=[attachment.pk]) + query


def body(response) -> dict:
    return json.loads(response.content)


def downloaded(response) -> bytes:
    return b"".join(response.streaming_content)


# Every view: its method, its address and what a browser would send to it.
VIEWS = {
    "messages": ("GET", lambda chat, message: room_url("messages", chat.incident), {}),
    "send": ("POST", lambda chat, message: room_url("send", chat.incident), {"text": "hi"}),
    "read": ("POST", lambda chat, message: room_url("read", chat.incident), {"up_to": "1"}),
    "people": ("GET", lambda chat, message: room_url("people", chat.incident), {"q": "a"}),
    "edit": ("POST", lambda chat, message: message_url("edit", message), {"text": "changed"}),
    "delete": ("POST", lambda chat, message: message_url("delete", message), {}),
    "revisions": ("GET", lambda chat, message: message_url("revisions", message), {}),
    "evidence": ("POST", lambda chat, message: message_url("evidence", message), {}),
    "attachment": (
        "GET",
        lambda chat, message: attachment_url(message.attachments.first()),
        {},
    ),
}
# The same room views on a problem group's room.
GROUP_VIEWS = {
    f"problem group {name}": (
        method,
        lambda chat, message, name=name: room_url(name, chat.problem_group, "problem-group"),
        data,
    )
    for name, (method, _url, data) in VIEWS.items()
    if name in ("messages", "send", "read", "people")
}


def ask(client: Client, method: str, url: str, data: dict):
    if method == "GET":
        return client.get(url, data)
    return client.post(url, data)


class AccessTests:
    @pytest.mark.parametrize("name", VIEWS)
    def test_the_anonymous_are_sent_to_log_in_and_nothing_changes(self, chat, message, name):
        method, url, data = VIEWS[name]
        client = browser()
        before = fingerprint()

        response = ask(client, method, url(chat, message), data)

        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
        assert fingerprint() == before

    @pytest.mark.parametrize("name", [*VIEWS, *GROUP_VIEWS])
    def test_someone_who_may_not_see_the_room_is_refused_and_nothing_changes(
        self, chat, message, name
    ):
        method, url, data = {**VIEWS, **GROUP_VIEWS}[name]
        client = browser(chat.outsider)
        before = fingerprint()

        response = ask(client, method, url(chat, message), data)

        assert response.status_code == 403
        assert fingerprint() == before

    @pytest.mark.parametrize("name", VIEWS)
    def test_someone_who_may_see_the_room_is_served(self, chat, message, name):
        method, url, data = VIEWS[name]

        response = ask(browser(chat.worker), method, url(chat, message), data)

        assert response.status_code == 200, response.content

    @pytest.mark.parametrize("name", VIEWS)
    def test_the_other_method_is_refused_and_nothing_changes(self, chat, message, name):
        method, url, data = VIEWS[name]
        client = browser(chat.worker)
        before = fingerprint()

        response = ask(client, "POST" if method == "GET" else "GET", url(chat, message), data)

        assert response.status_code == 405
        assert fingerprint() == before

    @pytest.mark.parametrize(
        "path",
        [
            "rooms/incident/abc/messages/",
            "rooms/incident/-1/messages/",
            "rooms/incident/1.5/send/",
            "rooms/device/1/messages/",
            "rooms/incident/99999999/messages/",
            "rooms/incident/100000000000000000000000000000/messages/",
            "rooms/problem-group/99999999/send/",
            "messages/abc/edit/",
            "messages/99999999/delete/",
            "messages/100000000000000000000000000000/evidence/",
            "attachments/not-a-uuid/",
            "attachments/123/",
            f"attachments/{uuid.UUID(int=1)}/",
        ],
    )
    def test_addresses_of_nothing_are_not_found(self, chat, path):
        client = browser(chat.worker)
        before = fingerprint()

        get = client.get(f"/admin/chat/{path}")
        post = client.post(f"/admin/chat/{path}", {"text": "x"})

        assert (get.status_code, post.status_code) in ((404, 404), (404, 405), (405, 404))
        assert fingerprint() == before


# --- Older messages -------------------------------------------------------------------------------
class MessagesViewTests:
    def test_the_newest_fifty_come_oldest_first_with_more_and_the_last_id(self, chat):
        sent = [say(chat.room, chat.worker, f"line {n}") for n in range(PAGE_SIZE + 3)]

        answer = body(browser(chat.colleague).get(room_url("messages", chat.incident)))

        assert [m["id"] for m in answer["messages"]] == [m.pk for m in sent[3:]]
        assert answer["more"] is True
        assert answer["last_id"] == sent[-1].pk
        assert answer["room"] == chat.room.pk
        assert answer["messages"][-1]["text"] == f"line {PAGE_SIZE + 2}"
        assert answer["messages"][-1]["author"]["name"] == "Wang Worker"

    def test_paging_back_by_cursor_finds_each_message_once_while_new_ones_arrive(self, chat):
        sent = [say(chat.room, chat.worker, f"line {n}") for n in range(PAGE_SIZE + 20)]
        client = browser(chat.colleague)
        url = room_url("messages", chat.incident)

        newest = body(client.get(url))
        say(chat.room, chat.supervisor, "while scrolling")
        older = body(client.get(url, {"before": newest["messages"][0]["id"]}))

        got = [m["id"] for m in older["messages"] + newest["messages"]]
        assert got == [m.pk for m in sent]
        assert (newest["more"], older["more"]) == (True, False)

    @pytest.mark.parametrize("before", ["100000000000000000000000000000", "9223372036854775807"])
    def test_a_huge_cursor_gives_the_newest_page(self, chat, before):
        sent = [say(chat.room, chat.worker, f"line {n}") for n in range(3)]

        answer = body(
            browser(chat.colleague).get(room_url("messages", chat.incident), {"before": before})
        )

        assert [m["id"] for m in answer["messages"]] == [m.pk for m in sent]
        assert answer["more"] is False

    @pytest.mark.parametrize("before", ["abc", "", "1e3", "١٢"])
    def test_a_cursor_that_is_not_a_number_is_ignored(self, chat, before):
        sent = say(chat.room, chat.worker)

        response = browser(chat.colleague).get(
            room_url("messages", chat.incident), {"before": before}
        )

        assert response.status_code == 200
        assert [m["id"] for m in body(response)["messages"]] in ([sent.pk], [])

    def test_a_message_id_of_another_room_pages_this_room_only(self, chat):
        here = say(chat.room, chat.worker, "here")
        elsewhere = say(chat.group_room, chat.worker, "in the problem group")

        answer = body(
            browser(chat.colleague).get(
                room_url("messages", chat.incident), {"before": elsewhere.pk}
            )
        )

        assert [m["id"] for m in answer["messages"]] == [here.pk]

    def test_a_problem_groups_room_is_read_by_whoever_may_see_the_group(self, chat):
        line = say(chat.group_room, chat.admin, "Same root cause")

        answer = body(
            browser(chat.worker).get(room_url("messages", chat.problem_group, "problem-group"))
        )

        assert [m["text"] for m in answer["messages"]] == ["Same root cause"]
        assert answer["last_id"] == line.pk

    def test_a_deleted_message_comes_without_its_text_and_files(self, chat, message):
        services.message_delete(message=message, by=chat.worker)

        [frame] = body(browser(chat.colleague).get(room_url("messages", chat.incident)))["messages"]

        assert (frame["text"], frame["attachments"]) == ("", [])
        assert frame["deleted_at"]

    def test_the_first_look_at_an_incident_answers_an_empty_room_and_creates_none(self, chat):
        other = build_chat()
        other.room.delete()

        response = browser(chat.worker).get(room_url("messages", other.incident))

        assert body(response)["messages"] == []
        assert body(response)["room"] is None
        assert not Room.objects.filter(incident=other.incident).exists()


# --- Sending --------------------------------------------------------------------------------------
def send(client: Client, chat, **data):
    return client.post(room_url("send", chat.incident), data)


class SendViewTests:
    def test_a_message_with_files_is_stored_and_returned_as_a_frame(self, chat, media_root):
        client_id = str(uuid.uuid4())

        response = send(
            browser(chat.worker),
            chat,
            client_id=client_id,
            text="看一下\n<b>pad</b>",
            files=[picture("pad.png"), text_file()],
        )

        assert response.status_code == 200
        frame = body(response)["message"]
        assert frame["text"] == "看一下\n<b>pad</b>"
        assert frame["client_id"] == client_id
        assert [a["name"] for a in frame["attachments"]] == ["pad.png", "station3.log"]
        assert [a["is_image"] for a in frame["attachments"]] == [True, False]
        assert frame["attachments"][0]["thumbnail_url"]
        assert frame["attachments"][1]["thumbnail_url"] is None
        stored = Message.objects.get()
        assert stored.author == chat.worker
        names = files_on_disk(media_root)
        assert len(names) == 4  # the picture, its preview and thumbnail, the log
        assert not any("pad" in name or "station3" in name for name in names)

    def test_the_same_client_id_twice_stores_one_message(self, chat):
        client_id = str(uuid.uuid4())
        client = browser(chat.worker)

        first = send(client, chat, client_id=client_id, text="once")
        again = send(client, chat, client_id=client_id, text="once")

        assert first.status_code == again.status_code == 200
        assert body(first)["message"]["id"] == body(again)["message"]["id"]
        assert Message.objects.count() == 1

    def test_a_reply_quotes_a_message_of_the_room(self, chat):
        question = say(chat.room, chat.colleague, "Which station?")

        response = send(browser(chat.worker), chat, text="3", reply_to=question.pk)

        assert body(response)["message"]["reply_to"]["id"] == question.pk

    def test_mentions_are_sent_as_ids(self, chat):
        response = send(
            browser(chat.worker),
            chat,
            text="look",
            mentions=[chat.colleague.pk, chat.outsider.pk],
        )

        assert body(response)["message"]["mentions"] == [chat.colleague.pk]
        assert Notification.objects.get(action=WorkflowAction.MENTION).recipient == chat.colleague

    @pytest.mark.parametrize(
        ("data", "code"),
        [
            ({}, "empty"),
            ({"text": "   "}, "empty"),
            ({"text": "x" * 4001}, "too_long"),
            ({"text": "hi", "client_id": "not-a-uuid"}, "bad_client_id"),
            ({"text": "hi", "reply_to": "abc"}, "bad_request"),
            ({"text": "hi", "reply_to": "100000000000000000000000000000"}, "bad_reply"),
            ({"text": "hi", "mentions": ["abc"]}, "bad_request"),
            ({"text": "hi", "mentions": ["²"]}, "bad_request"),
            ({"files": "a text field, not a file"}, "empty"),
        ],
    )
    def test_bad_input_is_answered_with_an_error_and_stores_nothing(self, chat, data, code):
        client = browser(chat.worker)
        before = fingerprint()

        response = send(client, chat, **data)

        assert response.status_code == 400
        assert body(response)["code"] == code
        assert body(response)["message"]
        assert fingerprint() == before

    def test_a_reply_to_a_message_of_another_room_is_refused(self, chat):
        elsewhere = say(chat.group_room, chat.worker, "in the problem group")

        response = send(browser(chat.worker), chat, text="re", reply_to=elsewhere.pk)

        assert response.status_code == 400
        assert body(response)["code"] == "bad_reply"
        assert not Message.objects.filter(room=chat.room).exists()

    def test_a_file_of_a_type_that_may_not_be_attached_is_refused(self, chat, media_root):
        response = send(
            browser(chat.worker), chat, text="", files=[SimpleUploadedFile("run.html", b"<p>")]
        )

        assert response.status_code == 400
        assert body(response)["code"] == "bad_file"
        assert "run.html" in body(response)["message"]
        assert files_on_disk(media_root) == []

    def test_a_file_over_the_attachment_limit_is_refused(self, chat, media_root, settings):
        settings.ATTACHMENT_MAX_BYTES = 10

        response = send(browser(chat.worker), chat, files=[text_file(content=b"x" * 11)])

        assert response.status_code == 400
        assert body(response)["code"] == "bad_file"
        assert not Message.objects.exists()
        assert files_on_disk(media_root) == []

    def test_a_file_over_every_upload_limit_is_dropped_while_it_streams_in(
        self, chat, media_root, settings
    ):
        settings.ATTACHMENT_MAX_BYTES = settings.LEGACY_IMPORT_MAX_BYTES = 10

        response = send(
            browser(chat.worker), chat, text="hi", files=[text_file(content=b"x" * 1000)]
        )

        assert response.status_code == 413
        assert body(response)["code"] == "too_large"
        assert "station3.log" in body(response)["message"]
        assert not Message.objects.exists()
        assert files_on_disk(media_root) == []

    def test_errors_are_told_in_the_persons_language(self, chat):
        chat.worker.language = "zh-hans"
        chat.worker.save()

        response = send(browser(chat.worker), chat, text="   ")

        assert body(response)["code"] == "empty"
        assert "Write something" not in body(response)["message"]


class PictureSendTests:
    """What a file sent over HTTP is comes from its content: a picture is a bitmap Pillow
    verifies, within the pixel budget, decoded once into a preview (at most 1,600 pixels on its
    long side) from which its thumbnail is made; the chat shows the thumbnail and opens the
    preview. Anything else is a file to download, whatever its name."""

    def test_a_picture_gets_a_preview_and_a_thumbnail_made_from_it(self, chat, media_root):
        response = send(
            browser(chat.worker), chat, text="pad", files=[picture("pad.png", (3000, 2000))]
        )

        assert response.status_code == 200
        [frame] = body(response)["message"]["attachments"]
        photo = MessageAttachment.objects.get()
        assert frame["is_image"] is True
        assert frame["thumbnail_url"] == attachment_url(photo, "?thumbnail=1")
        assert frame["preview_url"] == attachment_url(photo, "?preview=1")
        assert photo.preview.name == f"chat/{photo.created_at:%Y/%m}/{photo.pk.hex}.preview.png"
        assert len(files_on_disk(media_root)) == 3  # the original, its preview, its thumbnail
        with photo.preview.open("rb") as stored, Image.open(stored) as preview:
            assert (preview.format, preview.size) == ("PNG", (1600, 1067))

        served = browser(chat.colleague).get(frame["preview_url"])
        assert served["Content-Type"] == "image/png"
        assert served["Content-Disposition"].startswith("inline")
        assert served["X-Content-Type-Options"] == "nosniff"
        assert downloaded(served) == photo.preview.open("rb").read()

        thumbnail = downloaded(browser(chat.colleague).get(frame["thumbnail_url"]))
        with photo.preview.open("rb") as stored, Image.open(stored) as preview:
            preview.thumbnail((320, 320))
            from_preview = io.BytesIO()
            preview.save(from_preview, format="PNG")
        assert thumbnail == from_preview.getvalue()  # made from the preview, not the original
        with Image.open(io.BytesIO(thumbnail)) as small:
            assert small.size == (320, 213)

    def test_a_photograph_keeps_a_jpeg_preview(self, chat):
        send(browser(chat.worker), chat, files=[picture("pad.jpg", (2400, 1800), "JPEG")])

        photo = MessageAttachment.objects.get()
        served = browser(chat.colleague).get(attachment_url(photo, "?preview=1"))
        assert served["Content-Type"] == "image/jpeg"
        with Image.open(io.BytesIO(downloaded(served))) as preview:
            assert (preview.format, preview.size) == ("JPEG", (1600, 1200))

    @pytest.mark.parametrize("what", ["svg", "a web page", "a png header only"])
    def test_a_file_named_like_a_picture_that_is_none_is_a_file_to_download(
        self, chat, media_root, what
    ):
        content = {
            "svg": SVG_NAMING_URLS % b"http://127.0.0.1:9/x.png",
            "a web page": b"<html><script>alert(1)</script></html>",
            "a png header only": b"\x89PNG\r\n\x1a\n",
        }[what]
        upload = SimpleUploadedFile("board.png", content, content_type="image/png")

        response = send(browser(chat.worker), chat, text="look", files=[upload])

        assert response.status_code == 200
        [frame] = body(response)["message"]["attachments"]
        assert frame["is_image"] is False
        assert (frame["thumbnail_url"], frame["preview_url"]) == (None, None)
        fake = MessageAttachment.objects.get()
        assert fake.content_type == "application/octet-stream"
        assert not fake.thumbnail and not fake.preview
        assert files_on_disk(media_root) == [fake.file.name]
        for query in ("", "?thumbnail=1", "?preview=1"):
            served = browser(chat.colleague).get(attachment_url(fake, query))
            assert served["Content-Type"] == "application/octet-stream"
            assert served["Content-Disposition"].startswith("attachment")
            assert downloaded(served) == content

    @pytest.mark.parametrize(
        "language, words",
        [
            ("en", "huge.png has more than 40 megapixels, more than a picture may have."),
            ("zh-hans", "huge.png 超过 40 百万像素，超出图片允许的大小。"),
        ],
    )
    def test_a_picture_past_the_pixel_budget_is_refused_in_the_persons_language(
        self, chat, media_root, settings, language, words
    ):
        settings.IMAGE_MAX_PIXELS = 40_000_000
        chat.worker.language = language
        chat.worker.save()
        upload = SimpleUploadedFile("huge.png", huge_png(), content_type="image/png")

        response = send(browser(chat.worker), chat, text="huge", files=[upload])

        assert response.status_code == 400
        assert body(response)["code"] == "bad_file"
        assert body(response)["message"].startswith(words)
        assert not Message.objects.filter(text="huge").exists()
        assert files_on_disk(media_root) == []

    def test_a_picture_without_its_small_forms_is_never_shown_from_its_original(self, chat):
        send(browser(chat.worker), chat, files=[picture("pad.png")])
        photo = MessageAttachment.objects.get()
        MessageAttachment.objects.filter(pk=photo.pk).update(thumbnail="", preview="")

        for query in ("?thumbnail=1", "?preview=1"):
            assert browser(chat.colleague).get(attachment_url(photo, query)).status_code == 404
        frame = body(browser(chat.colleague).get(room_url("messages", chat.incident)))
        [attachment] = frame["messages"][-1]["attachments"]
        assert (attachment["thumbnail_url"], attachment["preview_url"]) == (None, None)


def send_once(chat, client_id: str):
    return send(browser(chat.worker), chat, client_id=client_id, text="once")


def stored_once() -> int:
    """How many messages "once" was stored as (the room also holds the assignment's line)."""
    return Message.objects.filter(text="once").count()


class IdempotentAcrossTransportsTests:
    """A message first sent over HTTP (a paste with a file) and retried over the socket, or the
    other way round, is stored once."""

    pytestmark = [
        pytest.mark.asyncio,
        pytest.mark.django_db(transaction=True, serialized_rollback=True),
    ]

    async def test_sent_over_http_then_over_the_socket(self):
        chat = await sync_to_async(build_chat)()
        client_id = str(uuid.uuid4())
        sent = await sync_to_async(send_once)(chat, client_id)
        socket = await connected(f"/ws/rooms/incident/{chat.incident.pk}/", chat.worker)
        await socket.send_json_to({"type": "resume", "after": 0})
        caught_up = await frames_until(socket, lambda frame: frame.get("client_id") == client_id)

        await socket.send_json_to({"type": "send", "client_id": client_id, "text": "once"})

        assert caught_up[-1]["id"] == body(sent)["message"]["id"]
        assert await silent(socket) == []  # the connection has it already
        assert await sync_to_async(stored_once)() == 1
        await socket.disconnect()

    async def test_sent_over_the_socket_then_over_http(self):
        chat = await sync_to_async(build_chat)()
        client_id = str(uuid.uuid4())
        socket = await connected(f"/ws/rooms/incident/{chat.incident.pk}/", chat.worker)

        await socket.send_json_to({"type": "send", "client_id": client_id, "text": "once"})
        frame = await next_message(socket)
        again = await sync_to_async(send_once)(chat, client_id)

        assert again.status_code == 200
        assert body(again)["message"]["id"] == frame["id"]
        assert await silent(socket) == []  # nothing new was announced
        assert await sync_to_async(stored_once)() == 1
        await socket.disconnect()


# --- Reading --------------------------------------------------------------------------------------
class ReadViewTests:
    def test_what_was_shown_is_marked_read_and_the_unread_count_comes_back(self, chat):
        services.room_join(room=chat.room, person=chat.colleague)
        first = say(chat.room, chat.worker, "one")
        say(chat.room, chat.worker, "two")

        response = browser(chat.colleague).post(
            room_url("read", chat.incident), {"up_to": first.pk}
        )

        assert body(response) == {"unread": 1}
        assert (
            RoomMember.objects.get(room=chat.room, person=chat.colleague).last_read_id == first.pk
        )

    def test_reading_opens_the_room_for_someone_who_never_opened_it(self, chat):
        last = say(chat.room, chat.worker, "one")

        response = browser(chat.colleague).post(room_url("read", chat.incident), {"up_to": last.pk})

        assert body(response) == {"unread": 0}
        assert RoomMember.objects.get(room=chat.room, person=chat.colleague).last_read_id == last.pk

    @pytest.mark.parametrize("up_to", ["100000000000000000000000000000", "-5", "abc", ""])
    def test_reading_never_goes_backwards_nor_beyond_the_last_message(self, chat, up_to):
        services.room_join(room=chat.room, person=chat.colleague)
        first = say(chat.room, chat.worker, "one")
        last = say(chat.room, chat.worker, "two")
        RoomMember.objects.filter(person=chat.colleague).update(last_read_id=first.pk)

        response = browser(chat.colleague).post(room_url("read", chat.incident), {"up_to": up_to})

        assert response.status_code == 200
        read = RoomMember.objects.get(room=chat.room, person=chat.colleague).last_read_id
        assert read == (last.pk if up_to.startswith("1") else first.pk)


# --- Whom one can mention -------------------------------------------------------------------------
class PeopleViewTests:
    def test_active_people_who_may_see_the_room_are_offered_members_first(self, chat):
        services.room_join(room=chat.room, person=chat.supervisor)
        inactive = chat.colleague
        inactive.is_active = False
        inactive.save()

        found = body(browser(chat.worker).get(room_url("people", chat.incident)))["people"]

        ids = [person["id"] for person in found]
        assert ids[0] == chat.supervisor.pk
        assert found[0]["member"] is True
        assert chat.outsider.pk not in ids
        assert inactive.pk not in ids
        assert len(ids) <= 10

    def test_the_query_matches_names(self, chat):
        found = body(browser(chat.worker).get(room_url("people", chat.incident), {"q": "Xavier"}))

        assert [p["id"] for p in found["people"]] == [chat.xray_supervisor.pk]
        assert found["people"][0]["name"] == "Xavier Supervisor"

    @pytest.mark.parametrize("room", ["incident", "problem group"])
    @pytest.mark.parametrize("restricted", [False, True], ids=["open", "restricted"])
    def test_those_offered_are_exactly_those_who_may_see_the_room(self, chat, room, restricted):
        if restricted:
            fae = chat.worker.department
            restrict(chat.incident.device.project, departments=[fae], people=[chat.xray_supervisor])
        subject = chat.incident if room == "incident" else chat.problem_group
        url = room_url(
            "people", subject, kind="incident" if room == "incident" else "problem-group"
        )

        found = body(browser(chat.worker).get(url))["people"]

        may_see = {
            person.pk
            for person in Employee.objects.all()
            if access.may_see_subject(type(subject).objects.get(pk=subject.pk), person)
        }
        assert len(may_see) <= 10
        assert {person["id"] for person in found} == may_see

    def test_the_first_ten_who_may_see_are_offered_whoever_comes_before_them_by_name(self, chat):
        EmployeeFactory.create_batch(250, roles=(), display_name="Aaron Nobody")

        found = body(browser(chat.worker).get(room_url("people", chat.incident)))["people"]

        assert len(found) == 7
        assert chat.outsider.pk not in {person["id"] for person in found}

    def test_many_candidates_cost_the_queries_of_few(self, chat):
        client = browser(chat.worker)
        url = room_url("people", chat.incident)
        client.get(url)

        def queries() -> int:
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200
            return len(captured)

        few = queries()
        StaffFactory.create_batch(30, department=chat.worker.department)
        assert queries() == few

    def test_a_long_or_odd_query_is_answered(self, chat):
        response = browser(chat.worker).get(room_url("people", chat.incident), {"q": "%_'\"" * 100})

        assert response.status_code == 200
        assert body(response)["people"] == []


# --- Editing, deleting, evidence ------------------------------------------------------------------
class EditViewTests:
    def test_the_author_corrects_a_recent_message(self, chat, message):
        response = browser(chat.worker).post(
            message_url("edit", message), {"text": "The pad is fine"}
        )

        assert body(response)["message"]["text"] == "The pad is fine"
        assert body(response)["message"]["edited_at"]
        assert MessageRevision.objects.get().text == "The pad is lifted"

    @pytest.mark.parametrize("who", ["colleague", "supervisor", "admin", "superuser"])
    def test_someone_else_is_refused_and_nothing_changes(self, chat, message, who):
        client = browser(getattr(chat, who))
        before = fingerprint()

        response = client.post(message_url("edit", message), {"text": "theirs"})

        assert response.status_code == 403
        assert body(response)["code"] == "forbidden"
        assert fingerprint() == before

    def test_after_the_edit_window_the_author_is_told(self, chat, message):
        aged(message, 24 * 3600)
        client = browser(chat.worker)
        before = fingerprint()

        response = client.post(message_url("edit", message), {"text": "late"})

        assert response.status_code == 400
        assert body(response)["code"] == "too_late"
        assert fingerprint() == before

    def test_a_system_line_is_refused(self, chat):
        line = services.room_post_event(room=chat.room, code="workflow", actor=chat.worker)

        response = browser(chat.worker).post(message_url("edit", line), {"text": "rewritten"})

        assert response.status_code == 403

    def test_a_missing_text_is_refused(self, chat, message):
        response = browser(chat.worker).post(message_url("edit", message))

        assert response.status_code == 400
        assert body(response)["code"] == "empty"
        assert Message.objects.get(pk=message.pk).text == "The pad is lifted"


class DeleteViewTests:
    def test_the_author_deletes_a_recent_message_and_its_files_are_no_longer_served(
        self, chat, message
    ):
        photo = message.attachments.get(content_type="image/png")

        response = browser(chat.worker).post(message_url("delete", message))

        frame = body(response)["message"]
        assert (frame["text"], frame["attachments"]) == ("", [])
        assert frame["deleted_at"]
        revision = MessageRevision.objects.get()
        assert (revision.kind, revision.text) == (RevisionKind.DELETE, "The pad is lifted")
        assert browser(chat.colleague).get(attachment_url(photo)).status_code == 404
        assert browser(chat.worker).get(attachment_url(photo, "?thumbnail=1")).status_code == 404

    @pytest.mark.parametrize("who", ["colleague", "supervisor", "admin"])
    def test_someone_else_is_refused_and_nothing_changes(self, chat, message, who):
        client = browser(getattr(chat, who))
        before = fingerprint()

        response = client.post(message_url("delete", message))

        assert response.status_code == 403
        assert fingerprint() == before

    def test_after_the_edit_window_the_message_stays(self, chat, message):
        aged(message, 24 * 3600)

        response = browser(chat.worker).post(message_url("delete", message))

        assert response.status_code == 400
        assert Message.objects.get(pk=message.pk).deleted_at is None


class RevisionsViewTests:
    def test_an_edited_message_shows_what_it_said_before_oldest_first(self, chat, message):
        services.message_edit(message=message, by=chat.worker, text="The pad is cracked")
        services.message_edit(message=message, by=chat.worker, text="The pad is fine")

        revisions = body(browser(chat.colleague).get(message_url("revisions", message)))

        assert [(r["kind"], r["text"]) for r in revisions["revisions"]] == [
            (RevisionKind.EDIT, "The pad is lifted"),
            (RevisionKind.EDIT, "The pad is cracked"),
        ]
        assert revisions["revisions"][0]["by"]["name"] == "Wang Worker"

    def test_a_message_never_changed_has_none(self, chat, message):
        revisions = body(browser(chat.colleague).get(message_url("revisions", message)))

        assert revisions == {"revisions": []}


class EvidenceViewTests:
    @pytest.mark.parametrize("who", ["worker", "supervisor", "admin", "superuser"])
    def test_who_works_the_stage_marks_a_message(self, chat, message, who):
        response = browser(getattr(chat, who)).post(message_url("evidence", message))

        evidence = Evidence.objects.get()
        assert body(response) == {"evidence": evidence.pk, "stage": "fae_retest"}
        assert evidence.marked_by == getattr(chat, who)

    def test_one_picture_of_the_message_is_marked(self, chat, message):
        photo = message.attachments.get(content_type="image/png")

        browser(chat.worker).post(message_url("evidence", message), {"attachment": str(photo.pk)})

        assert Evidence.objects.get().attachment == photo

    @pytest.mark.parametrize("attachment", ["not-a-uuid", str(uuid.UUID(int=1)), "another"])
    def test_a_file_not_of_the_message_is_not_found(self, chat, message, attachment):
        if attachment == "another":
            other = say(chat.room, chat.worker, "", files=[picture()])
            attachment = str(other.attachments.get().pk)

        response = browser(chat.worker).post(
            message_url("evidence", message), {"attachment": attachment}
        )

        assert response.status_code == 404
        assert not Evidence.objects.exists()

    @pytest.mark.parametrize("who", ["colleague", "xray_supervisor"])
    def test_anyone_else_is_refused_and_nothing_changes(self, chat, message, who):
        client = browser(getattr(chat, who))
        before = fingerprint()

        response = client.post(message_url("evidence", message))

        assert response.status_code == 403
        assert fingerprint() == before

    def test_marking_twice_is_refused(self, chat, message):
        browser(chat.worker).post(message_url("evidence", message))

        response = browser(chat.supervisor).post(message_url("evidence", message))

        assert response.status_code == 400
        assert body(response)["code"] == "duplicate"
        assert Evidence.objects.count() == 1

    def test_a_problem_groups_message_is_refused(self, chat):
        line = say(chat.group_room, chat.admin, "Same root cause")

        response = browser(chat.admin).post(message_url("evidence", line))

        assert response.status_code == 400
        assert body(response)["code"] == "not_incident"
        assert not Evidence.objects.exists()


# --- Files ----------------------------------------------------------------------------------------
class AttachmentViewTests:
    def test_a_picture_is_shown_inline_with_its_type_and_guarded_headers(self, chat, message):
        photo = message.attachments.get(content_type="image/png")

        response = browser(chat.colleague).get(attachment_url(photo))

        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert response["Content-Disposition"].startswith("inline")
        assert 'filename="board.png"' in response["Content-Disposition"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert downloaded(response) == photo.file.open("rb").read()

    def test_another_file_is_downloaded_as_an_attachment(self, chat, message):
        log = message.attachments.get(content_type="text/plain")

        response = browser(chat.colleague).get(attachment_url(log))

        assert response["Content-Disposition"].startswith("attachment")
        assert 'filename="station3.log"' in response["Content-Disposition"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert downloaded(response) == b"BT_RSSI -92 dBm FAIL\n"

    def test_the_thumbnail_of_a_picture(self, chat, message):
        photo = message.attachments.get(content_type="image/png")

        response = browser(chat.colleague).get(attachment_url(photo, "?thumbnail=1"))

        assert response["Content-Type"] == "image/png"
        assert response["X-Content-Type-Options"] == "nosniff"
        content = downloaded(response)
        assert content == photo.thumbnail.open("rb").read()
        with Image.open(io.BytesIO(content)) as thumbnail:
            assert max(thumbnail.size) <= 320

    def test_a_file_without_a_thumbnail_is_served_itself(self, chat, message):
        log = message.attachments.get(content_type="text/plain")

        response = browser(chat.colleague).get(attachment_url(log, "?thumbnail=1"))

        assert response["Content-Disposition"].startswith("attachment")
        assert downloaded(response) == b"BT_RSSI -92 dBm FAIL\n"

    def test_a_file_named_like_a_picture_that_is_not_one_is_downloaded_not_shown(self, chat):
        fake = SimpleUploadedFile("photo.png", b"<html><script>alert(1)</script>", "image/png")
        sent = say(chat.room, chat.worker, "", files=[fake])

        response = browser(chat.colleague).get(attachment_url(sent.attachments.get()))

        assert response["Content-Disposition"].startswith("attachment")
        assert response["Content-Type"] == "application/octet-stream"
        assert response["X-Content-Type-Options"] == "nosniff"

    def test_a_problem_groups_file_is_served_to_whoever_may_see_the_group(self, chat):
        sent = say(chat.group_room, chat.admin, "", files=[text_file()])
        attachment = sent.attachments.get()

        assert browser(chat.worker).get(attachment_url(attachment)).status_code == 200
        assert browser(chat.outsider).get(attachment_url(attachment)).status_code == 403

    def test_an_inactive_person_is_not_served(self, chat, message):
        client = browser(chat.colleague)
        chat.colleague.is_active = False
        chat.colleague.save()

        response = client.get(attachment_url(message.attachments.first()))

        assert response.status_code in (302, 403)


class MentionMarksTests:
    def test_an_at_mention_sent_over_http_is_stored(self, chat):
        response = send(browser(chat.worker), chat, text=f"@[{chat.colleague.pk}] look")

        assert body(response)["message"]["mentions"] == [chat.colleague.pk]
        assert Mention.objects.get().person == chat.colleague
