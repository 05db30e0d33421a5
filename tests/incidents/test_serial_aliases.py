"""A device whose serial number was corrected is still found by the one it had: Ctrl+K, the API's
devices filter, the test stations' results and a re-import of the legacy workbook written before
the correction all land on the same device, never on a new one."""

import json

import pytest
from django.test import RequestFactory
from django.urls import reverse

from config.unfold import where_is_search
from incidents.legacy.importer import ALL_LISTED, LegacyImporter
from incidents.models import Incident, Station, StationResult
from incidents.resources import DeviceResource, IncidentResource
from incidents.services import incident_open
from incidents.services.tokens import api_token_create
from locations.models import Device
from locations.serials import device_serial_correct
from tests.api.conftest import bearer
from tests.factories import AdminFactory, DeviceFactory, StaffFactory, SuperuserFactory
from tests.incidents.test_legacy_import import make_workbook, register_row
from tests.incidents.test_people import client_for
from tests.incidents.test_resources import import_rows

pytestmark = pytest.mark.django_db


def machine(*scopes: str, name: str = "STATION-1"):
    """A client sending a token with `scopes`, made as an administrator would."""
    _token, secret = api_token_create(name=name, scopes=list(scopes))
    return bearer(secret)


def corrected(device: Device, serial: str) -> Device:
    return device_serial_correct(
        device=device, serial_number=serial, reason="Mistyped at registration", by=AdminFactory()
    )


class CommandSearchTests:
    def test_ctrl_k_finds_the_device_by_its_old_serial(self):
        device = corrected(DeviceFactory(serial_number="SN-CK-0O1"), "SN-CK-001")
        request = RequestFactory().get("/admin/search/", {"s": "CK-0O1", "extended": 1})
        request.user = StaffFactory()

        titles = [str(result.title) for result in where_is_search(request, "CK-0O1")]

        assert titles == [device.serial_number]


class ApiTests:
    def test_the_devices_filter_takes_the_old_serial(self):
        reader = machine("devices:read")
        device = corrected(DeviceFactory(serial_number="SN-API-0O1"), "SN-API-001")
        DeviceFactory(serial_number="SN-API-OTHER")

        def ids(serial):
            rows = reader.get("/api/v1/devices/", {"serial_number": serial}).json()["results"]
            return [row["id"] for row in rows]

        assert ids("SN-API-0O1") == ids("sn-api-001") == [device.pk]
        assert ids("SN-API-0O") == []

    def test_the_incidents_filter_takes_the_old_serial(self):
        device = corrected(DeviceFactory(serial_number="SN-API-0O1"), "SN-API-001")
        incident = incident_open(device=device, reporter=StaffFactory())
        incident_open(device=DeviceFactory(serial_number="SN-API-OTHER"), reporter=StaffFactory())
        reader = machine("incidents:read")

        def ids(serial):
            rows = reader.get("/api/v1/incidents/", {"serial_number": serial}).json()["results"]
            return [row["id"] for row in rows]

        assert ids("SN-API-0O1") == ids("SN-API-001") == [incident.pk]


class NewIncidentFormTests:
    def test_an_old_serial_typed_as_a_new_device_is_told_it_is_registered(self):
        corrected(DeviceFactory(serial_number="SN-FORM-0O1"), "SN-FORM-001")

        response = client_for(StaffFactory()).post(
            reverse("admin:incidents_incident_add"), {"serial_number": "SN-FORM-0O1"}
        )

        assert response.status_code == 200
        assert "is already registered" in str(
            response.context["adminform"].form.errors["serial_number"]
        )
        assert Device.objects.count() == 1


class StationResultTests:
    def test_a_result_under_the_old_serial_is_the_same_devices(self):
        Station.objects.create(name="FCT-3")
        device = corrected(DeviceFactory(serial_number="SN-LINE-0O1"), "SN-LINE-001")
        station = machine("results:write", name="FCT-3")
        body = {
            "result_id": "R-1",
            "serial_number": "SN-LINE-0O1",
            "station": "FCT-3",
            "test_item": "BT_RSSI",
            "passed": True,
            "tested_at": "2025-03-04T10:22:00+08:00",
        }

        response = station.post(
            "/api/v1/results/", json.dumps({"results": [body]}), content_type="application/json"
        )

        assert response.status_code < 300, response.content
        assert StationResult.objects.get().device == device
        assert Device.objects.count() == 1


class LegacyReimportTests:
    def test_an_old_workbook_updates_the_corrected_device_instead_of_adding_one(self, tmp_path):
        first = make_workbook(tmp_path / "first.xlsx", register=[register_row("SN1")])
        assert LegacyImporter(first, confirmed_people=ALL_LISTED).run().ok
        device = corrected(Device.objects.get(), "SN-1")

        again = make_workbook(
            tmp_path / "again.xlsx", register=[register_row("sn1", stage="X-ray")]
        )
        report = LegacyImporter(again, confirmed_people=ALL_LISTED).run()

        assert report.ok, report.errors
        assert list(Device.objects.values_list("serial_number", flat=True)) == ["SN-1"]
        incident = Incident.objects.get()
        assert incident.device == device


class SpreadsheetImportTests:
    def test_a_device_row_under_the_old_serial_updates_the_same_device(self):
        device = corrected(DeviceFactory(serial_number="ABC-0O1", project="Falcon"), "ABC-001")

        result = import_rows(
            DeviceResource, [{"serial number": "abc-0o1", "project": "Osprey"}], SuperuserFactory()
        )

        assert result.totals["new"] == 0 and not result.has_errors()
        device.refresh_from_db()
        assert (device.serial_number, device.project) == ("ABC-001", "Osprey")
        assert Device.objects.count() == 1

    def test_an_incident_row_under_the_old_serial_is_the_devices(self):
        device = corrected(DeviceFactory(serial_number="ABC-0O1"), "ABC-001")
        headers = IncidentResource().get_export_headers()
        row = dict.fromkeys(headers, "")
        serial_column = next(header for header in headers if "serial" in header.lower())
        row[serial_column] = "ABC-0O1"

        import_rows(IncidentResource, [row], SuperuserFactory())

        assert Incident.objects.get().device == device
