"""The chat's rules, through its services and selectors: pages of history by cursor, sending with
files, idempotent sending, replies, mentions and their notifications, editing and deleting one's
own recent messages, evidence, what one has read and what is unread."""

import importlib
import io
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from incidents.choices import DepartmentCode, Stage, WorkflowAction
from incidents.models import Department, Employee, Incident, Notification, ProblemGroup
from incidents.services import incident_assign, incident_cancel, incident_open
from messaging import selectors, services
from messaging.choices import MessageKind, RevisionKind
from messaging.models import (
    Evidence,
    Mention,
    Message,
    MessageAttachment,
    MessageRevision,
    Room,
    RoomMember,
)
from messaging.selectors import PAGE_SIZE, message_frame, messages_before
from messaging.services import ChatError
from tests.factories import (
    AdminFactory,
    DeviceFactory,
    EmployeeFactory,
    ProblemGroupFactory,
    StaffFactory,
    SuperuserFactory,
    SupervisorFactory,
)

pytestmark = pytest.mark.django_db


# --- People, rooms and helpers (also used by test_views) ---------------------------------------
@dataclass
class Chat:
    """An FAE retest given to `worker`, its room and a problem group's room, and the people
    around it: FAE's supervisor, another FAE staff member, a supervisor of another department,
    an administrator, a superuser and someone with no role (who may see no incident)."""

    incident: Incident
    room: Room
    problem_group: ProblemGroup
    group_room: Room
    worker: Employee
    colleague: Employee
    supervisor: Employee
    xray_supervisor: Employee
    admin: Employee
    superuser: Employee
    outsider: Employee


def build_chat() -> Chat:
    fae = Department.objects.get(code=DepartmentCode.FAE)
    xray = Department.objects.get(code=DepartmentCode.XRAY)
    production = Department.objects.get(code=DepartmentCode.PRODUCTION)
    supervisor = SupervisorFactory(department=fae, display_name="Fiona Supervisor")
    fae.supervisors.add(supervisor)
    xray_supervisor = SupervisorFactory(department=xray, display_name="Xavier Supervisor")
    xray.supervisors.add(xray_supervisor)
    worker = StaffFactory(department=fae, display_name="Wang Worker")
    incident = incident_open(
        device=DeviceFactory(),
        reporter=StaffFactory(department=production),
        description="Fails BT_RSSI at station 3",
        stage=Stage.FAE_RETEST,
    )
    incident = incident_assign(incident=incident, assignee=worker, by=supervisor)
    problem_group = ProblemGroupFactory()
    return Chat(
        incident=incident,
        room=services.room_for(incident=incident),
        problem_group=problem_group,
        group_room=services.room_for(problem_group=problem_group),
        worker=worker,
        colleague=StaffFactory(department=fae, display_name="Chen Colleague"),
        supervisor=supervisor,
        xray_supervisor=xray_supervisor,
        admin=AdminFactory(display_name="Ada Admin"),
        superuser=SuperuserFactory(display_name="Sam Superuser"),
        outsider=EmployeeFactory(roles=(), display_name="Olaf Outsider"),
    )


@pytest.fixture
def chat() -> Chat:
    return build_chat()


def say(room: Room, author: Employee, text: str = "Hello", **options) -> Message:
    message, _created = services.message_send(room=room, author=author, text=text, **options)
    return message


def picture(name: str = "board.png", size=(800, 600), image_format: str = "PNG"):
    buffer = io.BytesIO()
    Image.new("RGB", size, "orange").save(buffer, format=image_format)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def text_file(name: str = "station3.log", content: bytes = b"BT_RSSI -92 dBm FAIL\n"):
    return SimpleUploadedFile(name, content, content_type="text/plain")


def files_on_disk(media_root) -> list[str]:
    if not media_root.exists():
        return []
    return sorted(
        str(path.relative_to(media_root)) for path in media_root.rglob("*") if path.is_file()
    )


def aged(message: Message, seconds: int) -> None:
    """The message was sent `seconds` ago."""
    Message.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(seconds=seconds)
    )


def ids(messages) -> list[int]:
    return [message.pk for message in messages]


# --- Pages of history -----------------------------------------------------------------------------
class MessagesBeforeTests:
    def test_the_first_page_is_the_newest_fifty_oldest_first_and_says_there_are_more(self, chat):
        sent = [say(chat.room, chat.worker, f"line {n}") for n in range(PAGE_SIZE + 5)]

        page, more = messages_before(chat.room)

        assert ids(page) == ids(sent[5:])
        assert more is True

    def test_paging_back_finds_every_message_once_while_new_ones_arrive(self, chat):
        sent = [say(chat.room, chat.worker, f"line {n}") for n in range(2 * PAGE_SIZE + 10)]

        newest, more_after_newest = messages_before(chat.room)
        arrived = [say(chat.room, chat.colleague, f"new {n}") for n in range(7)]
        middle, more_after_middle = messages_before(chat.room, newest[0].pk)
        say(chat.room, chat.colleague, "and another")
        oldest, more_after_oldest = messages_before(chat.room, middle[0].pk)

        assert ids(oldest + middle + newest) == ids(sent)
        assert (more_after_newest, more_after_middle, more_after_oldest) == (True, True, False)
        assert len(oldest) == 10
        assert not set(ids(arrived)) & set(ids(oldest + middle + newest))

    def test_a_huge_cursor_gives_the_newest_page(self, chat):
        sent = [say(chat.room, chat.worker, f"line {n}") for n in range(3)]

        assert messages_before(chat.room, 10**30) == (sent, False)
        assert messages_before(chat.room, 2**63 - 1) == (sent, False)

    def test_a_cursor_below_every_message_gives_an_empty_last_page(self, chat):
        say(chat.room, chat.worker)

        assert messages_before(chat.room, 0) == ([], False)
        assert messages_before(chat.room, -(10**30)) == ([], False)

    def test_a_message_id_of_another_room_pages_this_room_only(self, chat):
        here = [say(chat.room, chat.worker, f"here {n}") for n in range(3)]
        elsewhere = say(chat.group_room, chat.worker, "in the problem group")
        later = say(chat.room, chat.worker, "here, later")

        page, more = messages_before(chat.room, elsewhere.pk)

        assert ids(page) == ids(here)
        assert later not in page
        assert not more


# --- Sending --------------------------------------------------------------------------------------
class MessageSendTests:
    def test_a_message_is_stored_with_its_author_and_the_room_moves_on(self, chat):
        first = say(chat.room, chat.worker, "  看一下焊点\nok  ")
        second = say(chat.room, chat.colleague, "second")

        chat.room.refresh_from_db()
        assert first.text == "看一下焊点\nok"
        assert (first.prev_id, second.prev_id) == (None, first.pk)
        assert chat.room.last_message_id == second.pk
        assert RoomMember.objects.get(room=chat.room, person=chat.worker).last_read_id == first.pk

    def test_someone_who_may_not_see_the_incident_cannot_write(self, chat):
        with pytest.raises(ChatError) as refused:
            say(chat.room, chat.outsider)

        assert refused.value.code == "forbidden"
        assert not Message.objects.exists()

    def test_an_inactive_person_cannot_write(self, chat):
        chat.worker.is_active = False
        chat.worker.save()

        with pytest.raises(ChatError):
            say(chat.room, chat.worker)

        assert not Message.objects.exists()

    @pytest.mark.parametrize(
        ("text", "options", "code"),
        [
            ("   \n ", {}, "empty"),
            ("x" * 4001, {}, "too_long"),
            ("hi", {"client_id": "not-a-uuid"}, "bad_client_id"),
        ],
    )
    def test_bad_input_is_refused_and_stores_nothing(self, chat, text, options, code):
        with pytest.raises(ChatError) as refused:
            say(chat.room, chat.worker, text, **options)

        assert refused.value.code == code
        assert refused.value.message
        assert not Message.objects.exists()

    def test_the_same_client_id_twice_stores_one_message(self, chat):
        client_id = uuid.uuid4()

        first, created = services.message_send(
            room=chat.room, author=chat.worker, text="once", client_id=str(client_id)
        )
        again, created_again = services.message_send(
            room=chat.room, author=chat.worker, text="once", client_id=client_id
        )

        assert (created, created_again) == (True, False)
        assert again.pk == first.pk
        assert Message.objects.count() == 1

    def test_the_same_client_id_in_another_room_is_another_message(self, chat):
        client_id = uuid.uuid4()

        here = say(chat.room, chat.worker, "here", client_id=client_id)
        there = say(chat.group_room, chat.worker, "there", client_id=client_id)

        assert here.pk != there.pk

    def test_a_reply_quotes_a_message_of_the_same_room(self, chat):
        question = say(chat.room, chat.colleague, "Which station?")

        answer = say(chat.room, chat.worker, "Station 3", reply_to=question.pk)

        assert answer.reply_to == question
        assert message_frame(answer)["reply_to"]["text"] == "Which station?"

    @pytest.mark.parametrize("elsewhere", ["another room", "no message", "a huge id"])
    def test_a_reply_to_a_message_of_another_room_is_refused(self, chat, elsewhere):
        other = say(chat.group_room, chat.worker, "in the problem group")
        reply_to = {"another room": other.pk, "no message": other.pk + 1000, "a huge id": 10**30}

        with pytest.raises(ChatError) as refused:
            say(chat.room, chat.worker, "re", reply_to=reply_to[elsewhere])

        assert refused.value.code == "bad_reply"
        assert Message.objects.filter(room=chat.room).count() == 0


class FileTests:
    def test_files_are_stored_under_random_names_and_keep_their_own_name(self, chat, media_root):
        message = say(chat.room, chat.worker, "", files=[text_file("机台3 log.txt")])

        [attachment] = message.attachments.all()
        assert attachment.original_name == "机台3_log.txt"
        assert attachment.size == len(b"BT_RSSI -92 dBm FAIL\n")
        assert attachment.content_type == "text/plain"
        assert not attachment.is_image
        assert attachment.file.name == (
            f"chat/{attachment.created_at:%Y/%m}/{attachment.pk.hex}.txt"
        )
        assert files_on_disk(media_root) == [attachment.file.name]
        assert not attachment.thumbnail

    def test_two_uploads_of_one_name_are_two_files(self, chat, media_root):
        message = say(chat.room, chat.worker, "", files=[text_file(), text_file()])

        names = {attachment.file.name for attachment in message.attachments.all()}
        assert len(names) == 2
        assert files_on_disk(media_root) == sorted(names)

    def test_a_picture_gets_a_preview_and_a_thumbnail_made_by_pillow(self, chat):
        photo = picture("pad.jpg", (3200, 1800), "JPEG")
        message = say(chat.room, chat.worker, "the pad", files=[photo])

        [attachment] = message.attachments.all()
        assert attachment.is_image and attachment.content_type == "image/jpeg"
        assert attachment.preview.name.endswith(f"{attachment.pk.hex}.preview.jpg")
        with attachment.preview.open("rb") as stored, Image.open(stored) as preview:
            assert (preview.format, preview.size) == ("JPEG", (1600, 900))
        assert attachment.thumbnail.name.endswith(f"{attachment.pk.hex}.thumb.png")
        with attachment.thumbnail.open("rb") as stored, Image.open(stored) as thumbnail:
            assert thumbnail.format == "PNG"
            assert thumbnail.size == (320, 180)
        frame = message_frame(message)["attachments"][0]
        assert frame["is_image"] is True
        assert frame["thumbnail_url"] == frame["url"] + "?thumbnail=1"
        assert frame["preview_url"] == frame["url"] + "?preview=1"

    @pytest.mark.parametrize("what", ["a web page", "a truncated picture", "svg"])
    def test_a_file_that_claims_to_be_a_picture_but_is_not_is_kept_as_a_plain_file(
        self, chat, media_root, what
    ):
        content = {
            "a web page": b"<html><script>alert(1)</script>",
            "a truncated picture": picture().read()[:200],
            "svg": b'<svg xmlns="http://www.w3.org/2000/svg"><image href="http://x/"/></svg>',
        }[what]
        fake = SimpleUploadedFile("photo.png", content, "image/png")

        message = say(chat.room, chat.worker, "", files=[fake])

        [attachment] = message.attachments.all()
        assert not attachment.thumbnail and not attachment.preview
        assert not attachment.is_image
        assert attachment.content_type == "application/octet-stream"
        assert attachment.original_name == "photo.png"
        assert files_on_disk(media_root) == [attachment.file.name]
        assert message_frame(message)["attachments"][0]["is_image"] is False

    def test_a_picture_past_the_pixel_budget_is_refused_and_nothing_is_written(
        self, chat, media_root, settings
    ):
        settings.IMAGE_MAX_PIXELS = 400 * 400 - 1

        with pytest.raises(ChatError) as refused:
            say(chat.room, chat.worker, "", files=[picture("pad.png", size=(400, 400))])

        assert refused.value.code == "bad_file"
        assert refused.value.message.startswith("pad.png has more than 0.159999 megapixels")
        assert not Message.objects.exists()
        assert files_on_disk(media_root) == []

    def test_a_file_of_a_type_that_may_not_be_attached_is_refused_and_nothing_is_written(
        self, chat, media_root
    ):
        with pytest.raises(ChatError) as refused:
            say(chat.room, chat.worker, "", files=[text_file(), text_file("run.html", b"<p>")])

        assert refused.value.code == "bad_file"
        assert "run.html" in refused.value.message
        assert not Message.objects.exists()
        assert files_on_disk(media_root) == []

    def test_a_file_over_the_attachment_limit_is_refused(self, chat, media_root, settings):
        settings.ATTACHMENT_MAX_BYTES = 10

        with pytest.raises(ChatError) as refused:
            say(chat.room, chat.worker, "", files=[text_file(content=b"x" * 11)])

        assert refused.value.code == "bad_file"
        assert not Message.objects.exists()
        assert files_on_disk(media_root) == []

    def test_files_of_a_send_that_fails_after_writing_them_are_removed(
        self, chat, media_root, monkeypatch
    ):
        def broken(**kwargs):
            raise RuntimeError("the notifications table is locked")

        monkeypatch.setattr(services, "notify_mention", broken)

        with pytest.raises(RuntimeError):
            say(
                chat.room,
                chat.worker,
                f"@[{chat.colleague.pk}] look",
                files=[text_file(), picture()],
            )

        assert not Message.objects.exists()
        assert not MessageAttachment.objects.exists()
        assert files_on_disk(media_root) == []

    def test_files_written_before_a_later_file_fails_are_removed(
        self, chat, media_root, monkeypatch
    ):
        real_save = default_storage.save
        calls = []

        def save_twice_then_fail(name, content, max_length=None):
            calls.append(name)
            if len(calls) == 3:
                raise OSError("disk full")
            return real_save(name, content, max_length=max_length)

        monkeypatch.setattr(default_storage, "save", save_twice_then_fail)

        with pytest.raises(OSError):
            say(chat.room, chat.worker, "", files=[picture(), text_file()])

        assert files_on_disk(media_root) == []
        assert not Message.objects.exists()


class ExistingAttachmentsTests:
    """Chat attachments stored before their content was judged are judged again once
    (migration messaging 0003), as record attachments were: a bitmap gets its preview (and a
    thumbnail if it had none), anything else becomes a plain file without a thumbnail."""

    @staticmethod
    def stored_before(chat, name: str, content: bytes, content_type: str = "image/png"):
        """A chat attachment as uploads stored it before: a picture by its name alone."""
        message = say(chat.room, chat.worker, f"old {name}")
        attachment = MessageAttachment(
            message=message, original_name=name, size=len(content), content_type=content_type
        )
        attachment.file.save(name, SimpleUploadedFile(name, content), save=False)
        attachment.save()
        return attachment

    @staticmethod
    def with_thumbnail(attachment, size) -> bytes:
        buffer = io.BytesIO()
        Image.new("RGB", size, "blue").save(buffer, format="PNG")
        attachment.thumbnail.save("thumb.png", SimpleUploadedFile("t.png", buffer.getvalue()))
        return buffer.getvalue()

    def test_existing_attachments_are_judged_by_their_content(self, chat, media_root):
        from django.apps import apps

        from tests.incidents.test_records import SVG_NAMING_URLS, huge_png

        judge = importlib.import_module("messaging.migrations.0003_attachment_preview")
        photo = self.stored_before(
            chat, "photo.png", picture(size=(2400, 1800), image_format="JPEG").read()
        )
        kept = self.stored_before(chat, "kept.png", picture(size=(800, 600)).read())
        kept_thumbnail = self.with_thumbnail(kept, (320, 240))
        too_big_thumbnail = self.stored_before(chat, "big.png", picture(size=(800, 600)).read())
        self.with_thumbnail(too_big_thumbnail, (800, 600))
        svg = self.stored_before(chat, "board.png", SVG_NAMING_URLS % b"file:///dev/zero")
        huge = self.stored_before(chat, "huge.png", huge_png())
        self.with_thumbnail(huge, (320, 320))
        gone = self.stored_before(chat, "gone.png", picture().read())
        Path(gone.file.path).unlink()
        log = self.stored_before(chat, "run.log", b"BT_RSSI -92 dBm FAIL\n", "text/plain")

        judge.judge_pictures(apps, None)

        for attachment in (photo, kept, too_big_thumbnail, svg, huge, gone, log):
            attachment.refresh_from_db()
        assert photo.content_type == "image/jpeg" and photo.is_image
        with photo.preview.open("rb") as stored, Image.open(stored) as preview:
            assert (preview.format, preview.size) == ("JPEG", (1600, 1200))
        with photo.thumbnail.open("rb") as stored, Image.open(stored) as thumbnail:
            assert (thumbnail.format, thumbnail.size) == ("PNG", (320, 240))
        with kept.preview.open("rb") as stored, Image.open(stored) as preview:
            assert (preview.format, preview.size) == ("PNG", (800, 600))
        assert kept.thumbnail.open("rb").read() == kept_thumbnail
        with too_big_thumbnail.thumbnail.open("rb") as stored, Image.open(stored) as thumbnail:
            assert thumbnail.size == (320, 240)
        for plain in (svg, huge, gone):
            assert plain.content_type == "application/octet-stream"
            assert not plain.is_image and not plain.preview and not plain.thumbnail
            assert message_frame(plain.message)["attachments"][0]["thumbnail_url"] is None
        assert (log.content_type, log.preview.name, log.thumbnail.name) == ("text/plain", "", "")
        frame = message_frame(photo.message)["attachments"][0]
        assert frame["preview_url"] == frame["url"] + "?preview=1"


# --- Mentions -------------------------------------------------------------------------------------
def mentions_of(message: Message) -> set[Employee]:
    return {mention.person for mention in Mention.objects.filter(message=message)}


def notified(message: Message) -> set[Employee]:
    return {
        notification.recipient
        for notification in Notification.objects.filter(
            message_id=message.pk, action=WorkflowAction.MENTION
        )
    }


class MentionTests:
    def test_people_who_may_see_the_room_are_mentioned_and_notified(
        self, chat, mailoutbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            message = say(
                chat.room,
                chat.worker,
                "Please check the pad",
                mentions=[chat.colleague.pk, chat.supervisor.pk],
            )

        assert mentions_of(message) == notified(message) == {chat.colleague, chat.supervisor}
        notification = Notification.objects.get(recipient=chat.colleague)
        assert notification.incident == chat.incident
        assert notification.actor == chat.worker
        assert notification.comment == "Please check the pad"
        assert notification.read_at is None
        assert sorted(mail.to[0] for mail in mailoutbox) == sorted(
            [chat.colleague.email, chat.supervisor.email]
        )
        assert f"mentioned you in the chat of incident #{chat.incident.pk}" in (
            mailoutbox[0].subject
        )

    def test_the_e_mail_is_in_the_language_of_the_person_mentioned(
        self, chat, mailoutbox, django_capture_on_commit_callbacks
    ):
        chat.colleague.language = "zh-hans"
        chat.colleague.save()

        with django_capture_on_commit_callbacks(execute=True):
            say(chat.room, chat.worker, "看一下", mentions=[chat.colleague.pk, chat.supervisor.pk])

        [chinese] = [mail for mail in mailoutbox if mail.to == [chat.colleague.email]]
        [english] = [mail for mail in mailoutbox if mail.to == [chat.supervisor.email]]
        assert f"在异常事件 #{chat.incident.pk} 的聊天中提到了您" in chinese.subject
        assert "mentioned" not in chinese.body
        assert f"mentioned you in the chat of incident #{chat.incident.pk}" in english.subject

    def test_an_at_mention_in_the_text_mentions_too(self, chat):
        message = say(chat.room, chat.worker, f"@[{chat.colleague.pk}] look at this")

        assert mentions_of(message) == notified(message) == {chat.colleague}
        assert Notification.objects.get(recipient=chat.colleague).comment == "look at this"

    def test_someone_who_may_not_see_the_room_is_neither_mentioned_nor_notified(
        self, chat, mailoutbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            message = say(
                chat.room,
                chat.worker,
                f"@[{chat.outsider.pk}] see this",
                mentions=[chat.outsider.pk],
            )

        assert mentions_of(message) == notified(message) == set()
        assert mailoutbox == []

    def test_mentioning_oneself_notifies_nobody(
        self, chat, mailoutbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            message = say(chat.room, chat.worker, f"note to self @[{chat.worker.pk}]")

        assert notified(message) == set()
        assert mailoutbox == []

    def test_mentioning_an_inactive_person_notifies_nobody(
        self, chat, mailoutbox, django_capture_on_commit_callbacks
    ):
        chat.colleague.is_active = False
        chat.colleague.save()

        with django_capture_on_commit_callbacks(execute=True):
            message = say(chat.room, chat.worker, "gone?", mentions=[chat.colleague.pk])

        assert mentions_of(message) == notified(message) == set()
        assert mailoutbox == []

    def test_ids_of_nobody_mention_nobody(self, chat):
        message = say(
            chat.room,
            chat.worker,
            "@[99999999] @[100000000000000000000000000000]",
            mentions=[0, 2**63 - 1, 10**30],
        )

        assert mentions_of(message) == notified(message) == set()

    def test_a_mention_in_a_problem_groups_room_names_the_group(
        self, chat, mailoutbox, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            message = say(
                chat.group_room, chat.worker, "same root cause?", mentions=[chat.admin.pk]
            )

        notification = Notification.objects.get(message_id=message.pk)
        assert (notification.recipient, notification.incident) == (chat.admin, None)
        assert notification.problem_group == chat.problem_group
        [mail] = mailoutbox
        assert chat.problem_group.number in mail.subject


# --- Editing and deleting -------------------------------------------------------------------------
class MessageEditTests:
    def test_the_author_corrects_a_recent_message_and_the_earlier_text_is_kept(self, chat):
        message = say(chat.room, chat.worker, "Station 2")

        edited = services.message_edit(message=message, by=chat.worker, text=" Station 3 ")

        edited.refresh_from_db()
        assert edited.text == "Station 3"
        assert edited.edited_at is not None
        [revision] = MessageRevision.objects.filter(message=message)
        assert (revision.kind, revision.text, revision.by) == (
            RevisionKind.EDIT,
            "Station 2",
            chat.worker,
        )

    def test_the_same_text_again_leaves_no_revision(self, chat):
        message = say(chat.room, chat.worker, "Station 3")

        services.message_edit(message=message, by=chat.worker, text="Station 3")

        assert not MessageRevision.objects.exists()
        assert Message.objects.get(pk=message.pk).edited_at is None

    @pytest.mark.parametrize("who", ["colleague", "supervisor", "admin", "superuser"])
    def test_nobody_but_the_author_edits_or_deletes(self, chat, who):
        message = say(chat.room, chat.worker, "mine")
        person = getattr(chat, who)

        with pytest.raises(ChatError) as edit_refused:
            services.message_edit(message=message, by=person, text="theirs")
        with pytest.raises(ChatError) as delete_refused:
            services.message_delete(message=message, by=person)

        assert edit_refused.value.code == delete_refused.value.code == "forbidden"
        message.refresh_from_db()
        assert (message.text, message.edited_at, message.deleted_at) == ("mine", None, None)
        assert not MessageRevision.objects.exists()

    def test_after_the_edit_window_the_message_stays_as_it_is(self, chat, settings):
        settings.CHAT_EDIT_WINDOW_SECONDS = 600
        message = say(chat.room, chat.worker, "Station 2")
        aged(message, 601)

        with pytest.raises(ChatError) as edit_refused:
            services.message_edit(message=message, by=chat.worker, text="Station 3")
        with pytest.raises(ChatError) as delete_refused:
            services.message_delete(message=message, by=chat.worker)

        assert edit_refused.value.code == delete_refused.value.code == "too_late"
        assert "10 minutes" in edit_refused.value.message
        message.refresh_from_db()
        assert (message.text, message.deleted_at) == ("Station 2", None)
        assert not MessageRevision.objects.exists()

    def test_just_inside_the_edit_window_the_author_still_edits(self, chat, settings):
        settings.CHAT_EDIT_WINDOW_SECONDS = 600
        message = say(chat.room, chat.worker, "Station 2")
        aged(message, 590)

        services.message_edit(message=message, by=chat.worker, text="Station 3")

        assert Message.objects.get(pk=message.pk).text == "Station 3"

    def test_the_page_is_told_until_when_the_author_may_change_it(self, chat, settings):
        settings.CHAT_EDIT_WINDOW_SECONDS = 600
        message = say(chat.room, chat.worker, "Station 2")
        line = services.room_post_event(room=chat.room, code="workflow", actor=chat.worker)
        gone = say(chat.room, chat.worker, "Wrong room")
        services.message_delete(message=gone, by=chat.worker)
        gone.refresh_from_db()

        until = datetime.fromisoformat(message_frame(message)["editable_until"])

        assert until == message.created_at + timedelta(seconds=600)
        assert message_frame(line)["editable_until"] is None
        assert message_frame(gone)["editable_until"] is None

    def test_a_system_line_cannot_be_edited_or_deleted(self, chat):
        line = services.room_post_event(room=chat.room, code="workflow", actor=chat.worker)

        with pytest.raises(ChatError):
            services.message_edit(message=line, by=chat.worker, text="rewritten")
        with pytest.raises(ChatError):
            services.message_delete(message=line, by=chat.worker)

        line.refresh_from_db()
        assert line.kind == MessageKind.SYSTEM
        assert (line.text, line.deleted_at) == ("", None)

    @pytest.mark.parametrize("text", ["", "   ", "x" * 4001])
    def test_an_empty_or_too_long_correction_is_refused(self, chat, text):
        message = say(chat.room, chat.worker, "Station 2")

        with pytest.raises(ChatError):
            services.message_edit(message=message, by=chat.worker, text=text)

        assert Message.objects.get(pk=message.pk).text == "Station 2"


class MessageDeleteTests:
    def test_a_deleted_message_is_no_longer_served_but_its_revision_keeps_the_text(self, chat):
        message = say(chat.room, chat.worker, "wrong board", files=[picture()])

        services.message_delete(message=message, by=chat.worker)

        message.refresh_from_db()
        frame = message_frame(message)
        assert (frame["text"], frame["attachments"]) == ("", [])
        assert frame["deleted_at"] is not None
        assert message.attachments.count() == 1  # kept, never silently removed
        [revision] = MessageRevision.objects.filter(message=message)
        assert (revision.kind, revision.text, revision.by) == (
            RevisionKind.DELETE,
            "wrong board",
            chat.worker,
        )

    def test_a_reply_to_a_deleted_message_no_longer_quotes_it(self, chat):
        question = say(chat.room, chat.colleague, "secret")
        answer = say(chat.room, chat.worker, "ok", reply_to=question.pk)

        services.message_delete(message=question, by=chat.colleague)

        answer.refresh_from_db()
        assert message_frame(answer)["reply_to"]["text"] == ""

    def test_a_deleted_message_is_neither_edited_nor_deleted_again(self, chat):
        message = say(chat.room, chat.worker, "oops")
        services.message_delete(message=message, by=chat.worker)

        with pytest.raises(ChatError) as edit_refused:
            services.message_edit(message=message, by=chat.worker, text="fixed")
        with pytest.raises(ChatError) as delete_refused:
            services.message_delete(message=message, by=chat.worker)

        assert edit_refused.value.code == delete_refused.value.code == "deleted"
        assert MessageRevision.objects.count() == 1


# --- Evidence -------------------------------------------------------------------------------------
class EvidenceTests:
    @pytest.mark.parametrize("who", ["worker", "supervisor", "admin", "superuser"])
    def test_who_works_the_stage_marks_evidence_with_the_stage_and_their_name(self, chat, who):
        message = say(chat.room, chat.colleague, "The pad is lifted")
        person = getattr(chat, who)

        evidence = services.evidence_mark(message=message, by=person)

        evidence.refresh_from_db()
        assert (evidence.incident, evidence.stage, evidence.marked_by) == (
            chat.incident,
            Stage.FAE_RETEST,
            person,
        )
        assert evidence.attachment is None

    @pytest.mark.parametrize("who", ["colleague", "xray_supervisor", "outsider"])
    def test_anyone_else_is_refused(self, chat, who):
        message = say(chat.room, chat.worker, "The pad is lifted")

        with pytest.raises(ChatError) as refused:
            services.evidence_mark(message=message, by=getattr(chat, who))

        assert refused.value.code == "forbidden"
        assert not Evidence.objects.exists()

    def test_one_picture_of_a_message_is_marked(self, chat):
        message = say(chat.room, chat.worker, "", files=[picture(), text_file()])
        photo = message.attachments.get(content_type="image/png")

        evidence = services.evidence_mark(message=message, by=chat.worker, attachment=photo)

        assert evidence.attachment == photo

    def test_a_file_of_another_message_is_refused(self, chat):
        message = say(chat.room, chat.worker, "text")
        other = say(chat.room, chat.worker, "", files=[picture()])

        with pytest.raises(ChatError) as refused:
            services.evidence_mark(
                message=message, by=chat.worker, attachment=other.attachments.get()
            )

        assert refused.value.code == "bad_file"
        assert not Evidence.objects.exists()

    def test_marking_twice_is_refused(self, chat):
        message = say(chat.room, chat.worker, "The pad is lifted")
        services.evidence_mark(message=message, by=chat.worker)

        with pytest.raises(ChatError) as refused:
            services.evidence_mark(message=message, by=chat.supervisor)

        assert refused.value.code == "duplicate"
        assert Evidence.objects.get().marked_by == chat.worker

    def test_messages_of_a_problem_group_are_refused(self, chat):
        message = say(chat.group_room, chat.admin, "Same root cause")

        with pytest.raises(ChatError) as refused:
            services.evidence_mark(message=message, by=chat.admin)

        assert refused.value.code == "not_incident"
        assert not Evidence.objects.exists()

    def test_a_deleted_message_is_refused(self, chat):
        message = say(chat.room, chat.worker, "oops")
        services.message_delete(message=message, by=chat.worker)

        with pytest.raises(ChatError) as refused:
            services.evidence_mark(message=message, by=chat.worker)

        assert refused.value.code == "deleted"

    def test_a_closed_incident_takes_no_more_evidence(self, chat):
        message = say(chat.room, chat.worker, "late")
        incident_cancel(incident=chat.incident, by=chat.supervisor, reason="Duplicate")

        with pytest.raises(ChatError):
            services.evidence_mark(message=message, by=chat.admin)

        assert not Evidence.objects.exists()


# --- Reading and unread counts --------------------------------------------------------------------
def read_up_to(chat: Chat, person: Employee) -> int:
    return RoomMember.objects.get(room=chat.room, person=person).last_read_id


class ReadTests:
    def test_opening_a_room_counts_what_was_there_as_read(self, chat):
        last = say(chat.room, chat.worker, "before you came")
        chat.room.refresh_from_db()

        services.room_join(room=chat.room, person=chat.colleague)

        assert read_up_to(chat, chat.colleague) == last.pk

    def test_reading_never_goes_backwards(self, chat):
        services.room_join(room=chat.room, person=chat.colleague)
        first, second = say(chat.room, chat.worker), say(chat.room, chat.worker)
        chat.room.refresh_from_db()

        services.room_mark_read(room=chat.room, person=chat.colleague, up_to=second.pk)
        services.room_mark_read(room=chat.room, person=chat.colleague, up_to=first.pk)
        services.room_mark_read(room=chat.room, person=chat.colleague, up_to=-(10**30))

        assert read_up_to(chat, chat.colleague) == second.pk

    def test_reading_never_goes_beyond_the_rooms_last_message(self, chat):
        services.room_join(room=chat.room, person=chat.colleague)
        last = say(chat.room, chat.worker)
        chat.room.refresh_from_db()

        services.room_mark_read(room=chat.room, person=chat.colleague, up_to=10**30)

        assert read_up_to(chat, chat.colleague) == last.pk

    def test_reading_an_empty_room_marks_nothing(self, chat):
        services.room_join(room=chat.room, person=chat.colleague)

        services.room_mark_read(room=chat.room, person=chat.colleague, up_to=12345)

        assert read_up_to(chat, chat.colleague) == 0


class UnreadTests:
    def test_messages_of_others_after_what_one_read_are_unread(self, chat):
        services.room_join(room=chat.room, person=chat.colleague)
        say(chat.room, chat.worker, "one")
        second = say(chat.room, chat.supervisor, "two")

        assert selectors.unread_count(chat.colleague) == 2
        chat.room.refresh_from_db()
        services.room_mark_read(room=chat.room, person=chat.colleague, up_to=second.pk)
        assert selectors.unread_count(chat.colleague) == 0

    def test_ones_own_messages_do_not_count(self, chat):
        say(chat.room, chat.worker, "mine")
        services.room_join(room=chat.room, person=chat.colleague)
        say(chat.room, chat.colleague, "mine too")

        assert selectors.unread_count(chat.colleague) == 0
        assert selectors.unread_count(chat.worker) == 1

    def test_deleted_messages_do_not_count(self, chat):
        services.room_join(room=chat.room, person=chat.colleague)
        message = say(chat.room, chat.worker, "oops")
        say(chat.room, chat.worker, "kept")

        services.message_delete(message=message, by=chat.worker)

        assert selectors.unread_count(chat.colleague) == 1

    def test_only_rooms_the_person_opened_count(self, chat):
        say(chat.room, chat.worker, "nobody opened this for you")
        say(chat.group_room, chat.worker, "nor this")

        assert selectors.unread_count(chat.colleague) == 0
        assert selectors.unread_by_incident(chat.colleague, [chat.incident.pk]) == {}

    def test_unread_by_incident_counts_each_incidents_room(self, chat):
        other = incident_open(device=DeviceFactory(), reporter=chat.worker, stage=Stage.FAE_RETEST)
        other_room = services.room_for(incident=other)
        for room in (chat.room, other_room, chat.group_room):
            services.room_join(room=room, person=chat.colleague)
        say(chat.room, chat.worker, "one")
        say(chat.room, chat.worker, "two")
        say(other_room, chat.worker, "three")
        say(chat.group_room, chat.worker, "not an incident's")

        assert selectors.unread_by_incident(chat.colleague, [chat.incident.pk, other.pk]) == {
            chat.incident.pk: 2,
            other.pk: 1,
        }
        assert selectors.unread_by_incident(chat.colleague, [other.pk]) == {other.pk: 1}
        assert selectors.unread_count(chat.colleague) == 4

    def test_the_anonymous_have_nothing_unread(self, chat):
        from django.contrib.auth.models import AnonymousUser

        assert selectors.unread_count(AnonymousUser()) == 0
        assert selectors.unread_by_incident(AnonymousUser(), [chat.incident.pk]) == {}


class DecisionsTests:
    """What the chat keeps and shows once people take things back or lose access."""

    def send(self, chat, text="hello", author=None):
        message, _created = services.message_send(
            room=chat.room, author=author or chat.worker, text=text, client_id=uuid.uuid4()
        )
        return message

    def test_a_deleted_messages_text_is_kept_for_its_author_and_administrators_only(self, chat):
        message = self.send(chat, "wrong incident, sorry")
        services.message_delete(message=message, by=chat.worker)
        message.refresh_from_db()

        seen = {
            who: [r["text"] for r in selectors.message_revisions(message, person)]
            for who, person in {
                "author": chat.worker,
                "admin": chat.admin,
                "colleague": chat.colleague,
            }.items()
        }

        assert seen == {
            "author": ["wrong incident, sorry"],
            "admin": ["wrong incident, sorry"],
            "colleague": [""],
        }

    def test_earlier_versions_of_an_edited_message_are_shown_to_everyone(self, chat):
        message = self.send(chat, "retest at 25 C")
        services.message_edit(message=message, by=chat.worker, text="retest at 40 C")

        assert [r["text"] for r in selectors.message_revisions(message, chat.colleague)] == [
            "retest at 25 C"
        ]

    def test_a_message_kept_as_evidence_cannot_be_deleted(self, chat):
        message = self.send(chat, "the crack is under U12")
        services.evidence_mark(message=message, by=chat.supervisor)

        with pytest.raises(services.ChatError) as refused:
            services.message_delete(message=message, by=chat.worker)

        assert refused.value.code == "evidence"
        message.refresh_from_db()
        assert message.deleted_at is None

    def test_a_message_mentioning_more_than_ten_people_is_refused_whole(self, chat):
        people = [StaffFactory(department=chat.worker.department) for _ in range(25)]
        text = " ".join(f"@[{person.pk}]" for person in people)
        before = Notification.objects.count()

        with pytest.raises(services.ChatError) as refused:
            self.send(chat, text)

        assert refused.value.code == "too_many_mentions"
        assert not Message.objects.filter(text=text).exists()
        assert Notification.objects.count() == before

    def test_unread_counts_leave_out_rooms_one_may_no_longer_see(self, chat):
        reader = StaffFactory(department=chat.worker.department)
        services.room_join(room=chat.room, person=reader)
        self.send(chat, "news")
        assert selectors.unread_count(reader) == 1

        reader.groups.clear()
        reader = type(reader).objects.get(pk=reader.pk)  # permissions are cached per object

        assert selectors.unread_count(reader) == 0
