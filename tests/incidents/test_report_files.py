"""A report reads nothing but the product's own small pictures: an attachment that claims to be
a picture and holds SVG naming URLs makes it fetch nothing (no request reaches a listener, no
file is opened), the report still renders with the file listed, and a picture is embedded from
its stored preview, never decoded from its full-size original."""

import base64
import os
import stat
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from incidents import report_files
from incidents.choices import Stage
from incidents.models import Attachment
from incidents.reports import incident_report, report_pdf
from incidents.services.records import operation_record_add
from messaging import services as chat
from tests.incidents.test_records import SVG_NAMING_URLS, huge_png, picture_bytes
from tests.incidents.test_reports import pdf_text
from tests.incidents.test_workflow import assigned, build_team

pytestmark = pytest.mark.django_db


class Listener:
    """An HTTP server on 127.0.0.1 that notes every request it receives (and answers each with
    a small picture, so that a fetch would succeed)."""

    def __init__(self):
        self.requests: list[str] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                listener.requests.append(f"{self.path} {self.headers.get('User-Agent')}")
                body = picture_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


class Watched:
    """A named pipe: whoever opens it to read is seen (its writer's open returns), so a test
    knows whether a `file://` URL was read without replacing anything in the code under test."""

    def __init__(self, path):
        self.path = path
        os.mkfifo(path)
        self.opened = threading.Event()
        self.thread = threading.Thread(target=self._write, daemon=True)
        self.thread.start()

    def _write(self):
        try:
            with open(self.path, "wb") as pipe:  # blocks until someone opens it to read
                if not self.closing:
                    self.opened.set()
                pipe.write(SVG_NAMING_URLS % b"x")
        except OSError:  # the reader went away first
            pass

    closing = False

    def close(self):
        self.closing = True
        if self.thread.is_alive():  # release the writer nobody read
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            self.thread.join(timeout=5)
            os.close(fd)


@pytest.fixture
def watched(tmp_path):
    pipe = Watched(tmp_path / "secret.svg")
    assert stat.S_ISFIFO(os.stat(pipe.path).st_mode)
    yield pipe
    pipe.close()


@pytest.fixture
def team(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return build_team()


@pytest.fixture
def incident(team):
    return assigned(team, Stage.FAE_RETEST)


@pytest.fixture
def worker(team):
    return team.worker(Stage.FAE_RETEST)


def hostile_svg(listener, watched) -> bytes:
    """SVG naming a URL on the listener, a file through file:// and more SVG through data:."""
    inner = base64.b64encode(SVG_NAMING_URLS % f"{listener.url}/inner.png".encode()).decode()
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">
<image href="{listener.url}/board.png" width="10" height="10"/>
<image href="file://{watched.path}" width="10" height="10"/>
<image href="data:image/svg+xml;base64,{inner}" width="10" height="10"/>
</svg>""".encode()


def rendered(incident) -> tuple[str, int]:
    return pdf_text(report_pdf(incident_report(incident)))


def test_an_svg_named_board_png_makes_the_report_fetch_nothing(incident, worker, listener, watched):
    upload = SimpleUploadedFile("board.png", hostile_svg(listener, watched), "image/png")
    operation_record_add(incident=incident, by=worker, action="Photo", files=[upload])

    text, images = rendered(incident)

    assert listener.requests == []
    assert not watched.opened.wait(0.5)
    assert "Attachment: board.png" in text
    assert images == 0


def test_a_stored_picture_that_is_svg_after_all_makes_the_report_fetch_nothing(
    incident, worker, listener, watched
):
    # As if a file that is no picture had been kept as one (a row from before content was
    # judged, its preview pointing at the SVG): the fetcher still serves only real bitmaps.
    record = operation_record_add(incident=incident, by=worker, action="Photo")
    attachment = Attachment(
        record=record, original_name="board.png", size=1, content_type="image/png"
    )
    attachment.file.save("board.png", ContentFile(hostile_svg(listener, watched)), save=False)
    attachment.preview.name = attachment.file.name
    attachment.save()

    text, images = rendered(incident)

    assert listener.requests == []
    assert not watched.opened.wait(0.5)
    assert "board.png" in text
    assert images == 0


def test_a_picture_is_embedded_from_its_preview_not_its_original(incident, worker):
    upload = SimpleUploadedFile("xray.png", picture_bytes("PNG", (3000, 2000)), "image/png")
    operation_record_add(incident=incident, by=worker, action="X-ray", files=[upload])

    import pypdfium2

    document = pypdfium2.PdfDocument(report_pdf(incident_report(incident)))
    sizes = [
        item.get_px_size()
        for page in document
        for item in page.get_objects()
        if item.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE
    ]
    assert sizes == [(1600, 1067)]


def test_a_huge_picture_stored_before_the_budget_is_listed_and_never_decoded(incident, worker):
    record = operation_record_add(incident=incident, by=worker, action="Photo")
    attachment = Attachment(
        record=record, original_name="huge.png", size=len(huge_png()), content_type="image/png"
    )
    attachment.file.save("huge.png", ContentFile(huge_png()))

    text, images = rendered(incident)

    assert "Attachment: huge.png" in text
    assert images == 0


def marked_chat_file(team, incident, worker, upload):
    room = chat.room_for(incident=incident)
    message, _new = chat.message_send(room=room, author=worker, text="pad", files=[upload])
    chat.evidence_mark(
        message=message,
        by=team.supervisor(Stage.FAE_RETEST),
        attachment=message.attachments.get(),
    )
    return message.attachments.get()


def test_a_chat_picture_marked_as_evidence_is_embedded_from_its_preview(team, incident, worker):
    upload = SimpleUploadedFile("pad.jpg", picture_bytes("JPEG", (3200, 1800)), "image/jpeg")
    marked_chat_file(team, incident, worker, upload)

    import pypdfium2

    document = pypdfium2.PdfDocument(report_pdf(incident_report(incident)))
    sizes = [
        item.get_px_size()
        for page in document
        for item in page.get_objects()
        if item.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE
    ]
    assert sizes == [(1600, 900)]


def test_a_chat_svg_named_like_a_picture_marked_as_evidence_is_listed_and_fetches_nothing(
    team, incident, worker, listener, watched
):
    upload = SimpleUploadedFile("board.png", hostile_svg(listener, watched), "image/png")
    attachment = marked_chat_file(team, incident, worker, upload)

    text, images = rendered(incident)

    assert not attachment.is_image and not attachment.preview
    assert listener.requests == []
    assert not watched.opened.wait(0.5)
    assert "Attachment: board.png" in text
    assert images == 0


class FetcherTests:
    @pytest.fixture
    def preview(self, incident, worker) -> Attachment:
        upload = SimpleUploadedFile("pad.png", picture_bytes(), "image/png")
        record = operation_record_add(incident=incident, by=worker, action="Photo", files=[upload])
        return record.attachments.get()

    def test_it_serves_a_preview_by_id(self, preview):
        fetched = report_files.fetch(f"product-file:attachment-preview/{preview.pk}")

        assert fetched["mime_type"] == "image/png"
        assert fetched["string"] == preview.preview.open("rb").read()

    @pytest.mark.parametrize(
        "url",
        [
            "{listener}/board.png",
            "https://example.com/board.png",
            "ftp://127.0.0.1/board.png",
            "file://{pipe}",
            "file:///etc/passwd",
            "/etc/passwd",
            "data:image/png;base64,{png}",
            "data:image/svg+xml;base64,{svg}",
            "product-file:attachment-preview/{missing}",
            "product-file:attachment-preview/not-an-id",
            "product-file:attachment-preview/../../../../etc/passwd",
            "product-file:attachment/{preview}",
            "product-file:incidents.Attachment/{preview}/file",
            "PRODUCT-FILE:attachment-preview/{preview}",
            "product-file:attachment-preview/" + "9" * 10_000,
            "product-file:attachment-preview/\x00\ud800",
        ],
    )
    def test_it_refuses_everything_else(self, preview, listener, watched, url):
        url = url.format(
            listener=listener.url,
            pipe=watched.path,
            png=base64.b64encode(picture_bytes()).decode(),
            svg=base64.b64encode(SVG_NAMING_URLS % listener.url.encode()).decode(),
            missing=uuid.uuid4(),
            preview=preview.pk,
        )

        with pytest.raises(report_files.RefusedURL):
            report_files.fetch(url)

        assert listener.requests == []
        assert not watched.opened.is_set()

    def test_it_serves_a_chat_pictures_preview_by_id_and_never_its_other_files(
        self, team, incident, worker
    ):
        upload = SimpleUploadedFile("pad.png", picture_bytes("PNG", (2000, 1000)), "image/png")
        attachment = marked_chat_file(team, incident, worker, upload)

        fetched = report_files.fetch(f"product-file:chat-preview/{attachment.pk}")

        assert fetched["string"] == attachment.preview.open("rb").read()
        for kind in ("chat-thumbnail", "chat-file", "chat-attachment"):
            with pytest.raises(report_files.RefusedURL):
                report_files.fetch(f"product-file:{kind}/{attachment.pk}")

    def test_it_refuses_a_stored_preview_larger_than_a_preview(self, preview):
        preview.preview.save("preview.png", ContentFile(picture_bytes("PNG", (1601, 10))))

        with pytest.raises(report_files.RefusedURL, match="larger than a preview"):
            report_files.fetch(f"product-file:attachment-preview/{preview.pk}")
