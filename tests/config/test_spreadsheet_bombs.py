"""Every workbook the product reads is checked before it is opened: the Import buttons of the
locations, devices and incidents lists refuse a zip bomb, a part packed past any sheet's ratio
and a file over the size limit, with the reason in the reader's language, and keep nothing."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from config.kit.spreadsheets import SafeXLSX, WorkbookRefused, workbook_check
from incidents.models import Incident
from incidents.resources import LocationResource
from locations.models import Device, Location
from tests.incidents.test_resources import export_file

pytestmark = pytest.mark.django_db

LISTS = ["locations_location", "locations_device", "incidents_incident"]
MB = 1024 * 1024


def bomb(unpacked: int) -> bytes:
    """A workbook-shaped zip whose one sheet is `unpacked` bytes of one character."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as part:
            chunk = b"0" * MB
            for _ in range(unpacked // MB):
                part.write(chunk)
    return data.getvalue()


def post_import(client, model: str, content: bytes, name="book.xlsx"):
    app, model_name = model.split("_", 1)
    return client.post(
        reverse(f"admin:{app}_{model_name}_import"),
        {
            "import_file": SimpleUploadedFile(name, content),
            "format": "0",  # XLSX
            "resource": "0",
        },
    )


class WorkbookCheckTests:
    def test_a_part_packed_like_a_bomb_is_refused_from_the_directory_alone(self):
        book = bomb(8 * MB)

        with pytest.raises(WorkbookRefused, match="zip bomb"):
            workbook_check(book, max_bytes=10 * MB, max_unpacked=500 * MB)

        assert len(book) < 100_000  # small on disk

    def test_parts_unpacking_past_the_limit_are_refused(self):
        with pytest.raises(WorkbookRefused, match="zip bomb"):
            workbook_check(bomb(2 * MB), max_bytes=10 * MB, max_unpacked=1 * MB)

    def test_a_file_over_the_size_limit_is_refused(self):
        with pytest.raises(WorkbookRefused, match="at most"):
            workbook_check(b"x" * 2048, max_bytes=1024, max_unpacked=MB)

    @pytest.mark.parametrize("content", [b"", b"not a zip", b"PK\x03\x04" + b"\x00" * 40])
    def test_what_is_not_a_zip_archive_is_refused(self, content):
        with pytest.raises(WorkbookRefused, match="not a zip archive"):
            workbook_check(content, max_bytes=MB, max_unpacked=MB)

    def test_a_real_export_passes_and_reads_back(self):
        Location.objects.create(code="WH-1", name="Warehouse")
        data = export_file(LocationResource, "xlsx")

        workbook_check(data, max_bytes=MB, max_unpacked=10 * MB)
        assert len(SafeXLSX().create_dataset(data)) == 1


class ImportButtonTests:
    @pytest.mark.parametrize("model", LISTS)
    def test_a_zip_bomb_is_refused_with_its_reason(self, admin_client, model):
        response = post_import(admin_client, model, bomb(8 * MB))

        assert response.status_code == 200
        assert "zip bomb" in response.content.decode()
        assert not Incident.objects.exists() and not Device.objects.exists()

    @pytest.mark.parametrize("model", LISTS)
    def test_a_file_over_the_limit_is_refused_before_it_is_read(
        self, admin_client, model, settings
    ):
        settings.SPREADSHEET_MAX_BYTES = 1024

        response = post_import(admin_client, model, bomb(MB))

        assert response.status_code == 200
        assert "can be imported" in response.content.decode()

    def test_the_reason_is_in_the_readers_language(self, admin_client):
        admin_client.post(reverse("set_language"), {"language": "zh-hans"})

        response = post_import(admin_client, "locations_location", bomb(8 * MB))

        html = response.content.decode()
        assert "zip bomb" not in html
        assert "压缩炸弹" in html
