"""A file larger than any upload the product accepts is dropped while it streams in: Django's
handlers never write more than the limit of it, the request remembers which file it was, and
the operation record form says so in words and stores nothing."""

import io

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.test import Client, RequestFactory
from django.urls import reverse
from PIL import Image

from config.kit.uploads import RefusedUpload, picture_of, refused_uploads, upload_limit
from incidents.choices import Stage
from tests.incidents.test_records import huge_png
from tests.incidents.test_workflow import assigned, build_team

pytestmark = pytest.mark.django_db

KB = 1024
ATTACHMENT_LIMIT = 32 * KB
WORKBOOK_LIMIT = 128 * KB
TOO_LARGE = 1024 * KB


@pytest.fixture(autouse=True)
def small_limits(settings):
    """Limits small enough to upload past quickly; every upload goes through a temporary file,
    as large ones do."""
    settings.ATTACHMENT_MAX_BYTES = ATTACHMENT_LIMIT
    settings.LEGACY_IMPORT_MAX_BYTES = WORKBOOK_LIMIT
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0


@pytest.fixture
def written(monkeypatch) -> list[int]:
    """The sizes of the chunks Django's temporary-file handler wrote, in order."""
    chunks = []
    write = TemporaryFileUploadHandler.receive_data_chunk

    def counting(handler, raw_data, start):
        chunks.append(len(raw_data))
        return write(handler, raw_data, start)

    monkeypatch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", counting)
    return chunks


def upload(name: str, size: int) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"x" * size, content_type="text/plain")


class HandlerSettingsTests:
    def test_the_size_limit_runs_before_djangos_own_handlers(self):
        assert django_settings.FILE_UPLOAD_HANDLERS == [
            "config.kit.uploads.SizeLimitUploadHandler",
            "django.core.files.uploadhandler.MemoryFileUploadHandler",
            "django.core.files.uploadhandler.TemporaryFileUploadHandler",
        ]

    def test_the_limit_is_the_largest_upload_any_form_accepts(self, settings):
        assert upload_limit() == WORKBOOK_LIMIT

        settings.ATTACHMENT_MAX_BYTES = 2 * WORKBOOK_LIMIT
        assert upload_limit() == 2 * WORKBOOK_LIMIT

    def test_without_a_workbook_limit_the_attachment_limit_is_the_limit(self, settings):
        del settings.LEGACY_IMPORT_MAX_BYTES

        assert upload_limit() == ATTACHMENT_LIMIT


class HandlerTests:
    def test_a_file_over_the_limit_is_dropped_before_more_than_the_limit_is_written(self, written):
        request = RequestFactory().post(
            "/anywhere/",
            {"note": "kept", "big": upload("big.log", TOO_LARGE), "small": upload("ok.log", 10)},
        )

        files = request.FILES

        assert "big" not in files
        assert files["small"].read() == b"x" * 10
        assert request.POST["note"] == "kept"
        assert refused_uploads(request) == [RefusedUpload(field_name="big", file_name="big.log")]
        assert sum(written) <= WORKBOOK_LIMIT + 10

    def test_a_file_of_exactly_the_limit_is_kept(self, written):
        request = RequestFactory().post("/anywhere/", {"file": upload("edge.log", WORKBOOK_LIMIT)})

        assert request.FILES["file"].size == WORKBOOK_LIMIT
        assert refused_uploads(request) == []

    def test_a_request_without_files_has_nothing_refused(self):
        assert refused_uploads(RequestFactory().post("/anywhere/", {"note": "x"})) == []

    def test_the_refusal_names_the_file_and_the_limit(self):
        refused = RefusedUpload(field_name="files", file_name="xray.tif")

        assert (
            refused.message(ATTACHMENT_LIMIT) == "xray.tif is larger than the limit of 32.0\xa0KB."
        )


class OperationRecordUploadTests:
    @pytest.fixture
    def incident_and_worker(self):
        team = build_team()
        incident = assigned(team, Stage.XRAY)
        worker = Client()
        worker.force_login(team.worker(Stage.XRAY))
        return incident, worker

    def post_record(self, incident, client: Client, *files: SimpleUploadedFile):
        return client.post(
            reverse("admin:incidents_incident_record_action", args=[incident.pk]),
            {
                "expected_stage": incident.stage,
                "expected_step": incident.step,
                "action": "X-ray scan",
                "files": list(files),
            },
        )

    def test_a_file_over_the_limit_is_refused_in_words_and_nothing_is_stored(
        self, incident_and_worker, written, media_root
    ):
        incident, worker = incident_and_worker

        response = self.post_record(
            incident, worker, upload("scan.tif", TOO_LARGE), upload("run.log", 10)
        )

        assert response.status_code == 200
        assert "scan.tif is larger than the limit of 32.0\xa0KB." in response.content.decode()
        assert not incident.operation_records.exists()
        assert not media_root.exists() or not any(media_root.rglob("*.*"))
        assert sum(written) <= WORKBOOK_LIMIT + 10

    def test_a_file_between_the_attachment_and_the_upload_limit_is_refused_by_the_service(
        self, incident_and_worker
    ):
        incident, worker = incident_and_worker

        response = self.post_record(incident, worker, upload("scan.tif", 64 * KB))

        assert response.status_code == 200
        assert "attachments may be at most 32.0\xa0KB" in response.content.decode()
        assert not incident.operation_records.exists()

    def test_files_within_the_limits_are_still_attached(self, incident_and_worker):
        incident, worker = incident_and_worker

        response = self.post_record(incident, worker, upload("run.log", 10))

        assert response.status_code == 302
        record = incident.operation_records.get()
        assert [a.original_name for a in record.attachments.all()] == ["run.log"]

    def test_a_picture_past_the_pixel_budget_is_refused_in_the_persons_words(
        self, incident_and_worker, settings, media_root
    ):
        settings.ATTACHMENT_MAX_BYTES = 1024 * KB
        incident, worker = incident_and_worker
        worker.cookies["django_language"] = "zh-hans"
        huge = SimpleUploadedFile("board.png", huge_png(), "image/png")

        response = self.post_record(incident, worker, huge)

        assert response.status_code == 200
        assert "board.png 超过 40 百万像素" in response.content.decode()
        assert not incident.operation_records.exists()
        assert not media_root.exists() or not any(media_root.rglob("*.*"))


class PictureTests:
    """`picture_of` judges a file by its content: a few bitmap formats, verified, within the
    pixel budget, with a preview; everything else is no picture."""

    @pytest.mark.parametrize("image_format", ["ICO", "PCX", "PPM", "TGA", "EPS", "PDF"])
    def test_other_formats_pillow_reads_are_no_pictures(self, image_format):
        buffer = io.BytesIO()
        Image.new("RGB", (32, 32), "orange").save(buffer, format=image_format)

        assert picture_of(io.BytesIO(buffer.getvalue()), "board.png") is None

    def test_an_animated_gif_is_previewed_from_its_first_frame(self):
        frames = [Image.new("P", (2400, 1200), colour) for colour in (1, 2, 3)]
        buffer = io.BytesIO()
        frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])

        picture = picture_of(buffer, "spin.gif")

        assert (picture.content_type, picture.width, picture.height) == ("image/gif", 2400, 1200)
        with Image.open(io.BytesIO(picture.preview)) as preview:
            assert (preview.format, preview.size) == ("PNG", (1600, 800))
            assert getattr(preview, "n_frames", 1) == 1

    def test_a_photo_is_previewed_upright(self):
        photo = Image.new("RGB", (300, 100), "orange")
        exif = photo.getexif()
        exif[0x0112] = 6  # EXIF orientation: turned a quarter clockwise
        buffer = io.BytesIO()
        photo.save(buffer, format="JPEG", exif=exif)

        picture = picture_of(buffer, "board.jpg")

        with Image.open(io.BytesIO(picture.preview)) as preview:
            assert (preview.format, preview.size) == ("JPEG", (100, 300))

    def test_the_file_is_left_at_its_start_for_whoever_stores_it(self):
        buffer = io.BytesIO(b"<svg/>")
        buffer.seek(3)

        assert picture_of(buffer, "x.png") is None
        assert buffer.tell() == 0

    def test_the_thumbnail_is_made_from_the_preview(self):
        buffer = io.BytesIO()
        Image.new("RGB", (3200, 1800), "orange").save(buffer, format="PNG")

        thumbnail = picture_of(buffer, "x.png").thumbnail((320, 320))

        with Image.open(io.BytesIO(thumbnail)) as small:
            assert (small.format, small.size) == ("PNG", (320, 180))
