"""Operation records with attachments, and analysis results: where uploaded files land, which
ones are refused, and that a refusal leaves nothing behind — no row and no file."""

import functools
import importlib
import io
import struct
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import translation
from PIL import Image

from incidents.choices import Stage, Verdict, WorkflowAction
from incidents.models import AnalysisResult, Attachment, OperationRecord
from incidents.services import (
    WorkflowError,
    analysis_result_add,
    incident_approve,
    incident_assign,
    incident_submit,
    operation_record_add,
)
from incidents.services.records import attachments_prune
from tests.incidents.test_workflow import (
    assigned,
    build_team,
    open_incident,
    snapshot,
    walk_stage,
)

pytestmark = pytest.mark.django_db

LOG = b"2025-03-01 08:00:01 BT_RSSI -92 dBm FAIL\n"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    """Uploads of this file go to a folder of their own, never the real media folder."""
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture
def team():
    return build_team()


@pytest.fixture
def incident(team):
    return assigned(team, Stage.FAE_RETEST)


@pytest.fixture
def worker(team):
    return team.worker(Stage.FAE_RETEST)


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def upload(name: str, content: bytes = LOG, content_type: str = "text/plain"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def picture_bytes(image_format: str = "PNG", size=(64, 48), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "orange" if mode == "RGB" else 200).save(buffer, format=image_format)
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@functools.cache
def huge_png(width: int = 12_000, height: int = 12_000) -> bytes:
    """A PNG small on disk and huge in pixels: 12,000 x 12,000 of one colour is some 445 KB
    and would decode to 430 MB. Written row by row, never held decoded."""
    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\x20\x80\xff" * width  # filter "none", then RGB pixels
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", pixels)
        + _png_chunk(b"IEND", b"")
    )


SVG_NAMING_URLS = b"""<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">
<image href="%s" width="10" height="10"/></svg>"""


class AttachmentStorageTests:
    def test_an_attachment_is_stored_under_a_random_name_in_the_media_folder(
        self, incident, worker, media_root
    ):
        record = operation_record_add(
            incident=incident, by=worker, action="Retest", files=[upload("station3.log")]
        )

        attachment = record.attachments.get()
        stored = Path(attachment.file.path)
        assert stored.is_file()
        assert stored.is_relative_to(media_root / "attachments")
        assert stored.name == f"{attachment.id.hex}.log"
        assert "station3" not in attachment.file.name
        assert stored.read_bytes() == LOG
        assert attachment.original_name == "station3.log"
        assert attachment.size == len(LOG)
        assert attachment.content_type == "text/plain"
        assert files_under(media_root) == [stored]

    def test_the_content_type_comes_from_the_content_not_the_browser(self, incident, worker):
        record = operation_record_add(
            incident=incident,
            by=worker,
            action="X-ray photo",
            files=[upload("board.PNG", picture_bytes("PNG"), content_type="text/html")],
        )

        attachment = record.attachments.get()
        assert attachment.content_type == "image/png"
        assert attachment.is_image
        assert attachment.file.name.endswith(".png")

    def test_two_uploads_with_the_same_name_are_kept_apart(self, incident, worker, media_root):
        record = operation_record_add(
            incident=incident,
            by=worker,
            action="Retest twice",
            files=[upload("run.log", b"first"), upload("run.log", b"second")],
        )

        first, second = record.attachments.order_by("created_at")
        assert first.file.name != second.file.name
        assert {Path(a.file.path).read_bytes() for a in (first, second)} == {b"first", b"second"}
        assert len(files_under(media_root)) == 2

    def test_a_path_in_the_uploaded_name_does_not_escape_the_media_folder(
        self, incident, worker, media_root, tmp_path
    ):
        record = operation_record_add(
            incident=incident,
            by=worker,
            action="Retest",
            files=[upload("../../etc/passwd.log")],
        )

        attachment = record.attachments.get()
        stored = Path(attachment.file.path).resolve()
        assert stored.is_relative_to((media_root / "attachments").resolve())
        assert stored.name == f"{attachment.id.hex}.log"
        assert attachment.original_name == "passwd.log"
        assert not (tmp_path / "etc").exists()
        assert files_under(media_root) == [Path(attachment.file.path)]

    @pytest.mark.parametrize(
        ("uploaded", "kept"),
        [
            ("my report (v2).log", "my_report_v2.log"),
            ("..\\..\\boot.ini.log", "....boot.ini.log"),
            ("<script>.txt", "script.txt"),
            ("测试日志.csv", "测试日志.csv"),
        ],
    )
    def test_the_original_name_is_kept_only_in_a_safe_form(
        self, incident, worker, media_root, uploaded, kept
    ):
        record = operation_record_add(
            incident=incident, by=worker, action="Retest", files=[upload(uploaded)]
        )

        attachment = record.attachments.get()
        assert attachment.original_name == kept
        assert "/" not in attachment.original_name
        assert "\\" not in attachment.original_name
        assert Path(attachment.file.path).resolve().is_relative_to(media_root.resolve())

    def test_a_record_is_logged_in_the_timeline(self, incident, worker):
        operation_record_add(
            incident=incident, by=worker, action="Retest", files=[upload("run.log")]
        )

        event = incident.events.filter(action=WorkflowAction.RECORD).get()
        assert event.actor == worker
        assert event.comment == "Retest"


class AttachmentLimitTests:
    def test_a_file_over_the_size_limit_is_refused_and_nothing_is_saved(
        self, settings, incident, worker, media_root
    ):
        settings.ATTACHMENT_MAX_BYTES = 1024
        before = snapshot(incident)

        with pytest.raises(WorkflowError) as refused:
            operation_record_add(
                incident=incident,
                by=worker,
                action="Retest",
                files=[upload("huge-dump.log", b"x" * 2048)],
            )

        assert refused.value.message == (
            "huge-dump.log is 2.0\xa0KB; attachments may be at most 1.0\xa0KB."
        )
        assert snapshot(incident) == before
        assert not OperationRecord.objects.filter(incident=incident).exists()
        assert not Attachment.objects.exists()
        assert files_under(media_root) == []

    def test_a_file_of_exactly_the_limit_is_accepted(self, settings, incident, worker):
        settings.ATTACHMENT_MAX_BYTES = 1024

        record = operation_record_add(
            incident=incident,
            by=worker,
            action="Retest",
            files=[upload("exact.log", b"x" * 1024)],
        )

        assert record.attachments.get().size == 1024

    def test_one_file_too_big_refuses_the_whole_record(
        self, settings, incident, worker, media_root
    ):
        settings.ATTACHMENT_MAX_BYTES = 100
        before = snapshot(incident)

        with pytest.raises(WorkflowError, match=r"big\.log is"):
            operation_record_add(
                incident=incident,
                by=worker,
                action="Retest",
                files=[upload("small.log", b"ok"), upload("big.log", b"x" * 101)],
            )

        assert snapshot(incident) == before
        assert not Attachment.objects.exists()
        assert files_under(media_root) == []

    @pytest.mark.parametrize(
        "name",
        ["setup.exe", "report.html", "drawing.svg", "SETUP.EXE", "station.log.exe", "noext"],
    )
    def test_forbidden_types_are_refused_and_nothing_is_saved(
        self, incident, worker, media_root, name
    ):
        before = snapshot(incident)

        with pytest.raises(WorkflowError) as refused:
            operation_record_add(
                incident=incident,
                by=worker,
                action="Retest",
                files=[upload("fine.log"), upload(name, b"MZ\x90\x00")],
            )

        assert refused.value.message.startswith(
            f"{name}: files of this type cannot be attached. Allowed: "
        )
        assert ".log" in refused.value.message
        assert snapshot(incident) == before
        assert not Attachment.objects.exists()
        assert files_under(media_root) == []

    def test_an_upload_by_someone_who_may_not_add_records_writes_no_file(
        self, team, incident, media_root
    ):
        before = snapshot(incident)

        with pytest.raises(WorkflowError, match="Only the assignee"):
            operation_record_add(
                incident=incident,
                by=team.fae_colleague,
                action="Retest",
                files=[upload("run.log")],
            )

        assert snapshot(incident) == before
        assert files_under(media_root) == []

    def test_files_of_a_record_that_fails_while_saving_are_removed_at_once(
        self, incident, worker, media_root, monkeypatch
    ):
        saved = Attachment.save

        def fail_on_second(attachment, *args, **kwargs):
            if Attachment.objects.exists():
                raise RuntimeError("disk full")
            return saved(attachment, *args, **kwargs)

        monkeypatch.setattr(Attachment, "save", fail_on_second)

        with pytest.raises(RuntimeError):
            operation_record_add(
                incident=incident,
                by=worker,
                action="Retest",
                files=[upload("run.log"), upload("photo.png")],
            )

        assert not Attachment.objects.exists()
        assert files_under(media_root) == []

    def test_files_left_by_a_later_rollback_are_pruned_and_live_ones_kept(
        self, incident, worker, media_root
    ):
        kept = operation_record_add(
            incident=incident, by=worker, action="Kept", files=[upload("kept.log")]
        )
        with pytest.raises(RuntimeError), transaction.atomic():
            operation_record_add(
                incident=incident, by=worker, action="Retest", files=[upload("run.log")]
            )
            raise RuntimeError("something later in the same request failed")
        assert len(files_under(media_root)) == 2

        removed = attachments_prune(older_than=timedelta(0))

        assert len(removed) == 1
        assert files_under(media_root) == [media_root / kept.attachments.get().file.name]


class AnalysisResultTests:
    def test_a_result_may_be_based_on_a_record_of_the_same_stage(self, incident, worker):
        record = operation_record_add(incident=incident, by=worker, action="Retest")

        result = analysis_result_add(
            incident=incident,
            by=worker,
            findings="Fails at -92 dBm",
            verdict=Verdict.FAIL,
            operation_record=record,
        )

        assert result.operation_record == record
        assert (result.stage, result.round, result.verdict) == (Stage.FAE_RETEST, 1, "fail")
        assert result.created_by == worker

    def test_a_result_based_on_a_record_of_another_incident_is_refused(
        self, team, incident, worker
    ):
        other = assigned(team, Stage.FAE_RETEST)
        foreign_record = operation_record_add(incident=other, by=worker, action="Retest")
        before = snapshot(incident)

        with pytest.raises(WorkflowError) as refused:
            analysis_result_add(
                incident=incident,
                by=worker,
                findings="Fails",
                verdict=Verdict.FAIL,
                operation_record=foreign_record,
            )

        assert refused.value.message == (
            "The linked operation record belongs to another incident or stage."
        )
        assert snapshot(incident) == before
        assert not AnalysisResult.objects.filter(incident=incident).exists()

    def test_a_result_based_on_a_record_of_an_earlier_stage_is_refused(self, team):
        incident = assigned(team, Stage.REPORTED)
        prod_worker = team.worker(Stage.REPORTED)
        old_record = operation_record_add(incident=incident, by=prod_worker, action="Noticed")
        # Walk on from the record's stage: finish reported, then start FAE retest.
        incident_submit(incident=incident, by=prod_worker)
        incident_approve(incident=incident, by=team.supervisor(Stage.REPORTED))
        incident_assign(
            incident=incident,
            assignee=team.worker(Stage.FAE_RETEST),
            by=team.supervisor(Stage.FAE_RETEST),
        )
        before = snapshot(incident)

        with pytest.raises(WorkflowError, match="belongs to another incident or stage"):
            analysis_result_add(
                incident=incident,
                by=team.worker(Stage.FAE_RETEST),
                findings="Fails",
                verdict=Verdict.FAIL,
                operation_record=old_record,
            )

        assert snapshot(incident) == before

    def test_results_of_a_walked_stage_stay_with_their_stage(self, team):
        incident = walk_stage(open_incident(team, Stage.FAE_RETEST), team, Verdict.FAIL)

        result = incident.analysis_results.get()
        assert (result.stage, result.verdict) == (Stage.FAE_RETEST, Verdict.FAIL)
        assert incident.stage == Stage.XRAY
        assert incident.latest_verdict() is None


class ChatFilePruneTests:
    def test_orphaned_chat_files_are_pruned_and_live_ones_kept(self, incident, worker, media_root):
        import uuid as uuid_module

        from messaging import services as chat

        room = chat.room_for(incident=incident)
        kept, _new = chat.message_send(
            room=room,
            author=worker,
            text="log",
            client_id=uuid_module.uuid4(),
            files=[upload("kept.log")],
        )
        with pytest.raises(RuntimeError), transaction.atomic():
            chat.message_send(
                room=room,
                author=worker,
                text="x",
                client_id=uuid_module.uuid4(),
                files=[upload("lost.log")],
            )
            raise RuntimeError("something later in the same request failed")

        removed = attachments_prune(older_than=timedelta(0))

        assert len(removed) == 1 and removed[0].startswith("chat/")
        assert files_under(media_root) == [media_root / kept.attachments.get().file.name]


class PictureTests:
    """What an attachment is comes from its content: a picture is a bitmap Pillow verifies,
    within the pixel budget, and it gets a small preview; anything else is a plain file."""

    @pytest.mark.parametrize("image_format", ["PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF"])
    def test_a_bitmap_is_a_picture_whatever_it_is_called(self, incident, worker, image_format):
        record = operation_record_add(
            incident=incident,
            by=worker,
            action="Photo",
            files=[upload("photo.png", picture_bytes(image_format), "text/plain")],
        )

        attachment = record.attachments.get()
        assert attachment.is_image
        assert attachment.content_type == f"image/{image_format.lower()}"
        assert attachment.preview

    @pytest.mark.parametrize(
        "what",
        ["svg", "svg naming urls", "web page", "png header only", "truncated png", "log"],
    )
    def test_a_file_named_like_a_picture_that_holds_none_is_a_plain_file(
        self, incident, worker, media_root, what
    ):
        content = {
            "svg": b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="9" height="9"/></svg>',
            "svg naming urls": SVG_NAMING_URLS % b"http://127.0.0.1:9/x.png",
            "web page": b"<html><script>alert(1)</script></html>",
            "png header only": b"\x89PNG\r\n\x1a\n",
            "truncated png": picture_bytes("PNG", (300, 300))[:200],
            "log": LOG,
        }[what]

        record = operation_record_add(
            incident=incident,
            by=worker,
            action="Photo",
            files=[upload("board.png", content, content_type="image/png")],
        )

        attachment = record.attachments.get()
        assert attachment.content_type == "application/octet-stream"
        assert not attachment.is_image
        assert not attachment.preview
        assert Path(attachment.file.path).read_bytes() == content
        assert files_under(media_root) == [Path(attachment.file.path)]

    def test_svg_is_never_a_picture_even_when_stored_as_one(self, incident, worker):
        record = operation_record_add(incident=incident, by=worker, action="Photo")
        attachment = Attachment(record=record, original_name="a.svg", size=1)
        attachment.content_type = "image/svg+xml"

        assert not attachment.is_image

    @pytest.mark.parametrize(
        ("image_format", "preview_format"), [("PNG", "PNG"), ("JPEG", "JPEG"), ("TIFF", "PNG")]
    )
    def test_a_picture_gets_a_preview_at_most_1600_pixels_long(
        self, incident, worker, media_root, image_format, preview_format
    ):
        record = operation_record_add(
            incident=incident,
            by=worker,
            action="Photo",
            files=[upload("big.img.png", picture_bytes(image_format, (3000, 2000)))],
        )

        attachment = record.attachments.get()
        assert attachment.preview.name == (
            f"attachments/{attachment.created_at:%Y/%m}/{attachment.id.hex}.preview."
            + {"PNG": "png", "JPEG": "jpg"}[preview_format]
        )
        with attachment.preview.open("rb") as stored, Image.open(stored) as preview:
            assert preview.format == preview_format
            assert preview.size == (1600, 1067)
        assert sorted(files_under(media_root)) == sorted(
            [Path(attachment.file.path), Path(attachment.preview.path)]
        )

    def test_a_small_picture_keeps_its_size_in_the_preview(self, incident, worker):
        record = operation_record_add(
            incident=incident, by=worker, action="Photo", files=[upload("pad.png", picture_bytes())]
        )

        with record.attachments.get().preview.open("rb") as stored, Image.open(stored) as preview:
            assert preview.size == (64, 48)

    def test_a_16_bit_grey_xray_scan_is_previewed_in_its_full_range(self, incident, worker):
        scan = Image.linear_gradient("L").resize((512, 512)).convert("I").point(lambda v: v * 100)
        buffer = io.BytesIO()
        scan.convert("I;16").save(buffer, format="TIFF")

        record = operation_record_add(
            incident=incident,
            by=worker,
            action="X-ray",
            files=[upload("scan.tif", buffer.getvalue())],
        )

        with record.attachments.get().preview.open("rb") as stored, Image.open(stored) as preview:
            assert preview.mode == "L"
            assert preview.getextrema() == (0, 255)

    def test_a_picture_past_the_pixel_budget_is_refused_and_nothing_is_stored(
        self, incident, worker, media_root
    ):
        before = snapshot(incident)
        huge = huge_png()
        assert len(huge) < 500_000

        with pytest.raises(WorkflowError) as refused:
            operation_record_add(
                incident=incident,
                by=worker,
                action="Photo",
                files=[upload("fine.log"), upload("board.png", huge, "image/png")],
            )

        assert refused.value.message == (
            "board.png has more than 40 megapixels, more than a picture may have. "
            "Make it smaller, or attach it in a zip archive."
        )
        assert snapshot(incident) == before
        assert not Attachment.objects.exists()
        assert files_under(media_root) == []

    def test_the_pixel_budget_is_said_in_the_persons_language(self, incident, worker):
        with translation.override("zh-hans"), pytest.raises(WorkflowError) as refused:
            operation_record_add(
                incident=incident,
                by=worker,
                action="Photo",
                files=[upload("board.png", huge_png(), "image/png")],
            )

        assert refused.value.message.startswith("board.png 超过 40 百万像素")

    def test_the_budget_is_judged_from_the_header_before_any_pixel_is_decoded(
        self, incident, worker
    ):
        # Pixels that do not decode at all: refused for its size, not judged a broken file.
        header = struct.pack(">IIBBBBB", 12_000, 12_000, 8, 2, 0, 0, 0)
        undecodable = (
            b"\x89PNG\r\n\x1a\n"
            + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", b"not zlib at all")
            + _png_chunk(b"IEND", b"")
        )

        with pytest.raises(WorkflowError, match="more than 40 megapixels"):
            operation_record_add(
                incident=incident,
                by=worker,
                action="Photo",
                files=[upload("board.png", undecodable)],
            )

    def test_the_budget_is_a_setting(self, settings, incident, worker):
        settings.IMAGE_MAX_PIXELS = 5_000_000

        with pytest.raises(WorkflowError, match="more than 5 megapixels"):
            operation_record_add(
                incident=incident,
                by=worker,
                action="Photo",
                files=[upload("board.png", picture_bytes("PNG", (3000, 2000)))],
            )

    def test_a_picture_past_pillows_own_bomb_limit_is_refused_the_same_way(
        self, settings, incident, worker, monkeypatch
    ):
        settings.IMAGE_MAX_PIXELS = 10**9
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow refuses over twice this

        with pytest.raises(WorkflowError, match="more than 1000 megapixels"):
            operation_record_add(
                incident=incident,
                by=worker,
                action="Photo",
                files=[upload("board.png", picture_bytes("PNG", (100, 100)))],
            )


class ExistingPicturesTests:
    """Attachments stored as pictures before their content was judged are judged again once
    (migration 0028): a bitmap gets its preview, anything else becomes a plain file."""

    @staticmethod
    def stored_as_picture(incident, worker, name: str, content: bytes) -> Attachment:
        """An attachment as uploads stored it before: a picture by its name alone."""
        record = operation_record_add(incident=incident, by=worker, action="Photo")
        attachment = Attachment(
            record=record, original_name=name, size=len(content), content_type="image/png"
        )
        attachment.file.save(name, ContentFile(content))
        return attachment

    def test_existing_pictures_are_judged_by_their_content(self, incident, worker, media_root):
        judge = importlib.import_module("incidents.migrations.0028_attachment_preview")
        photo = self.stored_as_picture(incident, worker, "photo.png", picture_bytes("JPEG"))
        svg = self.stored_as_picture(incident, worker, "board.png", SVG_NAMING_URLS % b"x")
        huge = self.stored_as_picture(incident, worker, "huge.png", huge_png())
        gone = self.stored_as_picture(incident, worker, "gone.png", picture_bytes())
        Path(gone.file.path).unlink()
        text = operation_record_add(
            incident=incident, by=worker, action="Log", files=[upload("run.log")]
        ).attachments.get()

        from django.apps import apps

        judge.judge_pictures(apps, None)

        for attachment in (photo, svg, huge, gone, text):
            attachment.refresh_from_db()
        assert photo.content_type == "image/jpeg" and photo.is_image
        with photo.preview.open("rb") as stored, Image.open(stored) as preview:
            assert (preview.format, preview.size) == ("JPEG", (64, 48))
        for plain in (svg, huge, gone):
            assert plain.content_type == "application/octet-stream"
            assert not plain.is_image and not plain.preview
        assert text.content_type == "text/plain"
