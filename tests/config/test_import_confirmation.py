"""An import's confirmation names the file its preview kept and the format it was read in. One
that names no file waiting (confirmed twice, from an old page, or crafted) or no format of the
list goes back to the import page saying so, and imports nothing; import-export opened the file
as named and answered 500 (config/kit/spreadsheets.py)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from config.kit.spreadsheets import SafeCSV
from incidents.resources import LocationResource
from locations.models import Location
from tests.admin_pages import form_data
from tests.factories import LocationFactory

pytestmark = pytest.mark.django_db

IMPORT = reverse("admin:locations_location_import")
CONFIRM = reverse("admin:locations_location_process_import")
CSV = "1"  # SPREADSHEET_FORMATS: XLSX, CSV


@pytest.fixture
def confirmation(admin_client, tmp_path, monkeypatch):
    """The confirmation form a preview of a renamed shelf shows, as the browser would post it."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    shelf = LocationFactory(code="SHELF-1", name="Old name")
    resource = LocationResource()
    dataset = resource.export(queryset=Location.objects.filter(pk=shelf.pk))
    row = list(dataset[0])
    row[[f.attribute for f in resource.get_export_fields()].index("name")] = "New name"
    dataset[0] = row
    upload = SimpleUploadedFile("shelves.csv", SafeCSV().export_data(dataset).encode())
    preview = admin_client.post(IMPORT, {"import_file": upload, "format": CSV, "resource": "0"})
    assert preview.status_code == 200
    return shelf, form_data(preview.content.decode(), action=CONFIRM)


class ConfirmationTests:
    def test_a_confirmation_posted_twice_imports_once_and_then_says_the_file_is_gone(
        self, admin_client, confirmation
    ):
        shelf, data = confirmation

        first = admin_client.post(CONFIRM, data)
        shelf.refresh_from_db()
        assert (first.status_code, shelf.name) == (302, "New name")
        shelf.name = "Changed since"
        shelf.save()

        second = admin_client.post(CONFIRM, data, follow=True)

        assert second.redirect_chain == [(IMPORT, 302)]
        assert "is no longer waiting to be imported" in second.content.decode()
        shelf.refresh_from_db()
        assert shelf.name == "Changed since"

    @pytest.mark.parametrize(
        "changes",
        [
            {"format": "abc"},
            {"format": str(2**63)},
            {"format": "9" * 5000},
            {"import_file_name": "x" * 10_000},
            {"import_file_name": "../../../../etc/passwd"},
        ],
        ids=["text", "past 2^63", "5000 digits", "10,000 characters", "a path"],
    )
    def test_a_crafted_confirmation_imports_nothing_and_says_why(
        self, admin_client, confirmation, changes
    ):
        shelf, data = confirmation

        response = admin_client.post(CONFIRM, {**data, **changes}, follow=True)

        assert response.redirect_chain == [(IMPORT, 302)]
        assert "Upload the file again" in response.content.decode() or (
            "Upload it again" in response.content.decode()
        )
        shelf.refresh_from_db()
        assert shelf.name == "Old name"
