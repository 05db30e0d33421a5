"""The changelists' import/export: Chinese or English headers, and an export that re-imports
without changing anything."""

import pytest
import tablib
from django.urls import reverse
from django.utils import translation

from incidents.resources import EmployeeResource, IncidentResource
from locations.resources import DeviceResource, LocationResource
from tests.factories import DeviceFactory, EmployeeFactory, IncidentFactory, LocationFactory

pytestmark = pytest.mark.django_db


def round_trip(resource_class, language: str, file_format: str = "xlsx"):
    with translation.override(language):
        exported = resource_class().export()
    data = exported.export(file_format)
    dataset = tablib.Dataset().load(data, format=file_format)
    return dataset, resource_class().import_data(dataset, dry_run=False, raise_errors=True)


class ExportHeaderTests:
    def test_headers_follow_the_language_of_the_person_exporting(self):
        with translation.override("zh-hans"):
            chinese = DeviceResource().get_export_headers()
        with translation.override("en"):
            english = DeviceResource().get_export_headers()

        assert chinese[:3] == ["设备SN", "专案", "硬件版本"]
        assert english[:3] == ["serial number", "project", "hardware version"]


class RoundTripTests:
    @pytest.mark.parametrize("language", ["zh-hans", "en"])
    @pytest.mark.parametrize("file_format", ["xlsx", "csv"])
    @pytest.mark.parametrize(
        "resource_class", [DeviceResource, LocationResource, EmployeeResource, IncidentResource]
    )
    def test_an_export_re_imports_unchanged(self, resource_class, language, file_format):
        holder, shelf = EmployeeFactory(), LocationFactory(parent=LocationFactory())
        for _ in range(3):
            IncidentFactory(device=DeviceFactory(holder=holder, location=shelf))
        before = list(resource_class().export().dict)

        dataset, result = round_trip(resource_class, language, file_format)

        assert not result.has_errors() and not result.has_validation_errors()
        assert result.totals["new"] == 0
        assert result.totals["update"] == 0
        assert result.totals["skip"] == len(dataset) > 0
        assert list(resource_class().export().dict) == before

    def test_an_edited_export_updates_what_changed(self):
        device = DeviceFactory(project="Falcon")
        with translation.override("en"):
            dataset = DeviceResource().export()
        dataset.dict = [{**row, "project": "Osprey"} for row in dataset.dict]

        result = DeviceResource().import_data(dataset, dry_run=False)

        device.refresh_from_db()
        assert result.totals["update"] == 1
        assert device.project == "Osprey"

    def test_incident_import_never_changes_the_stage(self):
        incident = IncidentFactory()
        dataset = IncidentResource().export()
        dataset.dict = [{**row, "stage": "returned"} for row in dataset.dict]

        IncidentResource().import_data(dataset, dry_run=False)

        incident.refresh_from_db()
        assert incident.stage == "reported"


class AdminButtonTests:
    @pytest.mark.parametrize(
        "model",
        ["locations_device", "locations_location", "incidents_employee", "incidents_incident"],
    )
    def test_export_page_renders_for_an_admin(self, admin_client, model):
        assert admin_client.get(reverse(f"admin:{model}_export")).status_code == 200
        assert admin_client.get(reverse(f"admin:{model}_import")).status_code == 200

    def test_staff_may_export_devices_but_not_import_them(self, staff_client):
        assert staff_client.get(reverse("admin:locations_device_export")).status_code == 200
        assert staff_client.get(reverse("admin:incidents_employee_import")).status_code == 403

    def test_export_download_through_the_admin(self, admin_client):
        DeviceFactory(serial_number="SN-EXPORT-1")

        fields = DeviceResource().get_export_fields()
        response = admin_client.post(
            reverse("admin:locations_device_export"),
            {
                "format": "1",
                "resource": "0",
                **{f"deviceresource_{f.attribute}": "on" for f in fields},
            },
        )

        assert response.status_code == 200, response.content.decode()[:500]
        assert "attachment" in response["Content-Disposition"]
        assert "SN-EXPORT-1" in response.content.decode("utf-8-sig")
