"""The line's test stations as administrators configure them, and the line as the reporter of
the incidents it opens: a result naming an unknown or inactive station is refused on its
`station` (unless the factory lets the line register its stations), each station may set its
own fails in a row, and the incident the line opened says "Line · <token>" in its timeline, on
its page and through the API."""

import io
import json

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.template.loader import render_to_string
from django.urls import reverse

from incidents.models import Incident, Station, StationResult
from incidents.reports import incident_report, report_xlsx
from incidents.services.stations import station_save
from tests.api.conftest import bearer
from tests.factories import DeviceFactory

URL = "/api/v1/results/"


def fails(*ids: str, station: str = "FCT-3", minutes: int = 0, passed: bool = False) -> list:
    return [
        {
            "result_id": result_id,
            "serial_number": "SN-LINE-1",
            "station": station,
            "test_item": "BT_RSSI",
            "passed": passed,
            "value": -82.5,
            "low_limit": -80,
            "high_limit": -20,
            "log_url": f"https://logs.example/{result_id}.txt",
            "tested_at": f"2025-03-04T10:{minutes + index:02d}:00+08:00",
        }
        for index, result_id in enumerate(ids)
    ]


def post(client, rows):
    return client.post(URL, json.dumps({"results": rows}), content_type="application/json")


@pytest.fixture
def device(db):
    return DeviceFactory(serial_number="SN-LINE-1")


@pytest.fixture
def line(token_for):
    return bearer(token_for("results:write", "incidents:read", name="FCT-3 token"))


@pytest.fixture
def fct(db):
    return Station.objects.create(name="FCT-3")


@pytest.mark.django_db
class StationRefusalTests:
    def test_a_result_of_an_unknown_station_is_refused_on_its_station(self, line, device, fct):
        answer = post(line, fails("A") + fails("B", station="NEW-STATION"))

        assert answer.status_code == 200
        rows = answer.json()["results"]
        assert rows[0]["status"] == "stored"
        assert rows[1]["status"] == "error" and list(rows[1]["errors"]) == ["station"]
        assert "Test stations" in rows[1]["errors"]["station"]
        assert not Station.objects.filter(name="NEW-STATION").exists()

    def test_an_inactive_stations_results_are_refused(self, line, device, fct):
        fct.active = False
        fct.save()

        answer = post(line, fails("A"))

        assert answer.status_code == 422
        assert "inactive" in answer.json()["results"][0]["errors"]["station"]
        assert not StationResult.objects.exists()

    def test_an_unknown_station_is_registered_when_the_factory_says_so(
        self, settings, line, device
    ):
        settings.RESULTS_REGISTER_UNKNOWN_STATIONS = True

        answer = post(line, fails("A", station="ICT-9") + fails("B", station="ict-9", minutes=1))

        assert [row["status"] for row in answer.json()["results"]] == ["stored", "stored"]
        assert list(Station.objects.values_list("name", "active")) == [("ICT-9", True)]
        assert set(StationResult.objects.values_list("station", flat=True)) == {"ICT-9"}

    def test_a_person_never_registers_a_station(self, settings, client, device, admin_user):
        settings.RESULTS_REGISTER_UNKNOWN_STATIONS = True
        client.force_login(admin_user)

        answer = post(client, fails("A", station="ICT-9"))

        assert "station" in answer.json()["results"][0]["errors"]
        assert not Station.objects.exists()

    def test_a_station_is_one_whatever_the_case_it_is_sent_in(self, line, device, fct):
        post(line, fails("A", station="fct-3"))

        again = post(line, fails("A", station="Fct-3"))

        assert again.json()["results"][0]["status"] == "duplicate"
        assert StationResult.objects.get().station == "FCT-3"


@pytest.mark.django_db
class StationFailsToOpenTests:
    def test_a_station_opens_after_its_own_count(self, settings, line, device, fct):
        settings.RESULTS_FAILS_TO_OPEN = 3
        fct.fails_to_open = 5
        fct.save()

        four = post(line, fails("A", "B", "C", "D"))
        fifth = post(line, fails("E", minutes=4))

        assert four.json()["incidents_opened"] == []
        assert len(fifth.json()["incidents_opened"]) == 1

    def test_a_station_may_open_on_the_first_fail(self, line, device, fct):
        fct.fails_to_open = 1
        fct.save()

        assert len(post(line, fails("A")).json()["incidents_opened"]) == 1

    def test_a_pass_within_the_stations_count_prevents_opening(self, line, device, fct):
        fct.fails_to_open = 4
        fct.save()

        post(
            line, fails("A") + fails("P", minutes=1, passed=True) + fails("B", "C", "D", minutes=2)
        )

        assert not Incident.objects.exists()

    def test_without_a_count_the_setting_decides(self, settings, line, device, fct):
        settings.RESULTS_FAILS_TO_OPEN = 2

        assert len(post(line, fails("A", "B")).json()["incidents_opened"]) == 1


@pytest.mark.django_db
class LineReporterTests:
    def test_the_incident_the_line_opened_names_its_token(self, line, device, fct, admin_client):
        opened = post(line, fails("A", "B", "C")).json()["incidents_opened"]
        incident = Incident.objects.get(pk=opened[0])

        assert incident.reporter is None
        assert incident.reported_by_token.name == "FCT-3 token"
        detail = line.get(f"/api/v1/incidents/{incident.pk}/").json()
        assert detail["reporter"] is None and detail["reported_by_line"] == "FCT-3 token"
        (opening,) = detail["timeline"]
        assert (opening["action"], opening["by"], opening["by_line"]) == (
            "open",
            None,
            "FCT-3 token",
        )
        page = admin_client.get(reverse("admin:incidents_incident_change", args=[incident.pk]))
        html = page.content.decode()
        assert html.count("Line · FCT-3 token") == 2  # the timeline and the reporter field

    def test_the_report_names_the_line_as_the_reporter(self, line, device, fct, admin_client):
        (pk,) = post(line, fails("A", "B", "C")).json()["incidents_opened"]
        incident = Incident.objects.get(pk=pk)

        book = openpyxl.load_workbook(io.BytesIO(report_xlsx(incident_report(incident))))
        (opening,) = list(book["Timeline"].iter_rows(values_only=True))[1:]
        assert "Line · FCT-3 token" in opening
        html = render_to_string(
            "incidents/report/_incident_sections.html",
            {"report": incident_report(incident)},
        )
        assert "Line · FCT-3 token" in html

    def test_an_incident_a_person_opened_names_no_line(self, machine, admin_client, device):
        incident = Incident.objects.create(device=device)

        detail = machine.get(f"/api/v1/incidents/{incident.pk}/").json()

        assert detail["reported_by_line"] is None
        page = admin_client.get(reverse("admin:incidents_incident_change", args=[incident.pk]))
        assert "Line ·" not in page.content.decode()

    def test_a_token_name_is_escaped_on_the_page(self, token_for, device, fct, admin_client):
        hostile = bearer(token_for("results:write", name="<script>x</script>"))

        opened = post(hostile, fails("A", "B", "C")).json()["incidents_opened"]

        page = admin_client.get(reverse("admin:incidents_incident_change", args=opened))
        html = page.content.decode()
        assert "<script>x</script>" not in html and "Line · &lt;script&gt;x&lt;/script&gt;" in html


@pytest.mark.django_db
class StationModelTests:
    def test_names_are_unique_ignoring_case(self, fct):
        with pytest.raises(IntegrityError):
            Station.objects.create(name="fct-3")

    @pytest.mark.parametrize("count", [0, -1, 101, 32767])
    def test_the_database_refuses_counts_out_of_range(self, db, count):
        with pytest.raises(IntegrityError):
            Station.objects.create(name="X", fails_to_open=count)

    @pytest.mark.parametrize("name", ["", "   ", "A\x00B", "A\x07B", "\ud800", "x" * 101])
    def test_the_service_refuses_names_no_result_could_carry(self, db, name):
        with pytest.raises(ValidationError):
            station_save(station=Station(name=name))
        assert not Station.objects.exists()
