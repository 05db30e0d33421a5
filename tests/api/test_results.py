"""Test stations report results: each stored once by the station's result id, a batch of up to
500 with refused rows answered row by row while the good ones are kept, a body over the limit
refused before it is read; every refusal a 4xx, never a 5xx, and nothing half-written."""

import json
from datetime import datetime
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone

from incidents.api.results import MAX_BODY_BYTES
from incidents.choices import Stage
from incidents.models import (
    ApiTokenUse,
    Incident,
    ProjectAccess,
    StageOwnership,
    Station,
    StationResult,
)
from locations.models import Device
from tests.api.conftest import bearer
from tests.factories import DeviceFactory, IncidentFactory, LocationFactory, StaffFactory

URL = "/api/v1/results/"


def result(result_id: str = "R-1", **fields) -> dict:
    return {
        "result_id": result_id,
        "serial_number": "SN-LINE-1",
        "station": "FCT-3",
        "test_item": "BT_RSSI",
        "passed": False,
        "value": -82.5,
        "low_limit": -80,
        "high_limit": -20,
        "log_url": "https://logs.example/FCT-3/1.txt",
        "tested_at": "2025-03-04T10:22:00+08:00",
        **fields,
    }


def post(client, body, raw: bool = False):
    return client.post(URL, body if raw else json.dumps(body), content_type="application/json")


@pytest.fixture(autouse=True)
def stations(db):
    """The line's stations these results name, as an administrator added them."""
    return [Station.objects.create(name=name) for name in ("FCT-3", "ICT-1")]


@pytest.fixture
def device(db):
    return DeviceFactory(serial_number="SN-LINE-1")


@pytest.fixture
def station(token_for):
    return bearer(token_for("results:write", name="FCT-3"))


@pytest.mark.django_db
class ResultStoreTests:
    def test_one_result_is_stored_with_what_the_station_said(self, station, device):
        answer = post(station, {"results": [result(serial_number="sn-line-1")]})

        assert answer.status_code == 200
        assert answer.json() == {
            "results": [{"row": 0, "result_id": "R-1", "status": "stored", "errors": {}}],
            "incidents_opened": [],
        }
        stored = StationResult.objects.get()
        assert (stored.device, stored.station, stored.test_item) == (device, "FCT-3", "BT_RSSI")
        assert (stored.passed, stored.value, stored.low_limit) == (False, -82.5, -80)
        assert stored.tested_at.isoformat() == "2025-03-04T02:22:00+00:00"
        assert stored.token.name == "FCT-3"
        assert ApiTokenUse.objects.get().path == URL

    def test_a_batch_of_500_is_stored(self, station, device):
        answer = post(station, {"results": [result(f"R-{n}") for n in range(500)]})

        assert answer.status_code == 200
        assert StationResult.objects.count() == 500

    def test_the_same_result_id_is_stored_once_in_any_order(self, station, device):
        post(station, {"results": [result("A"), result("B")]})

        answer = post(station, {"results": [result("B"), result("C"), result("A"), result("C")]})

        assert [row["status"] for row in answer.json()["results"]] == [
            "duplicate",
            "stored",
            "duplicate",
            "duplicate",
        ]
        assert sorted(StationResult.objects.values_list("result_id", flat=True)) == ["A", "B", "C"]

    def test_the_same_result_id_of_two_stations_is_two_results(self, station, device):
        post(station, {"results": [result("A"), result("A", station="ICT-1")]})

        assert StationResult.objects.count() == 2

    def test_bad_rows_are_named_in_the_answer_and_the_good_rows_are_kept(self, station, device):
        answer = post(
            station,
            {
                "results": [
                    result("A"),
                    result("B", passed="maybe"),
                    result("C", serial_number="SN-NOBODY"),
                    result("D", tested_at="2999-01-01T00:00:00Z"),
                    result("E", low_limit=5, high_limit=1),
                    result("F"),
                ]
            },
        )

        body = answer.json()
        assert answer.status_code == 200
        assert [(row["row"], row["status"], sorted(row["errors"])) for row in body["results"]] == [
            (0, "stored", []),
            (1, "error", ["passed"]),
            (2, "error", ["serial_number"]),
            (3, "error", ["tested_at"]),
            (4, "error", ["low_limit"]),
            (5, "stored", []),
        ]
        assert sorted(StationResult.objects.values_list("result_id", flat=True)) == ["A", "F"]

    def test_a_batch_of_which_no_row_can_be_stored_is_422_naming_each(self, station, device):
        answer = post(
            station,
            {"results": [result("B", passed="maybe"), result("C", serial_number="SN-NOBODY")]},
        )

        body = answer.json()
        assert answer.status_code == 422
        assert [row["status"] for row in body["results"]] == ["error", "error"]
        assert body["error"]["code"] == "invalid_rows"
        assert "row 0: passed" in body["error"]["message"]
        assert not StationResult.objects.exists()

    def test_a_result_from_the_future_is_refused(self, station, device):
        answer = post(station, {"results": [result(tested_at="2099-01-01T00:00:00Z")]})

        assert answer.status_code == 422
        assert "future" in answer.json()["results"][0]["errors"]["tested_at"]


@pytest.mark.django_db
class MalformedBodyTests:
    @pytest.mark.parametrize(
        "body",
        [
            "",
            "not json",
            "[" * 100_000,
            '{"results": ' * 5_000,
            "null",
            "[]",
            '{"results": []}',
            '{"results": {}}',
            '{"results": "all"}',
            '{"rows": [{}]}',
            "\udcff".encode("utf-8", "surrogateescape").decode("latin-1"),
        ],
    )
    def test_a_body_that_is_no_batch_is_400(self, station, device, body):
        answer = post(station, body, raw=True)

        assert answer.status_code == 400
        assert answer.json()["error"]["message"]
        assert not StationResult.objects.exists()

    def test_over_500_rows_is_413(self, station, device):
        answer = post(station, {"results": [result(f"R-{n}") for n in range(501)]})

        assert answer.status_code == 413
        assert "500" in answer.json()["error"]["message"]
        assert not StationResult.objects.exists()

    def test_a_body_over_the_limit_is_413_before_it_is_read(self, station, device, monkeypatch):
        def read(*args):
            raise AssertionError("the body was read")

        monkeypatch.setattr("incidents.api.results.json", SimpleNamespace(loads=read))

        answer = post(station, "x" * (MAX_BODY_BYTES + 1), raw=True)
        huge = post(station, "x" * 10_000_000, raw=True)

        assert answer.status_code == huge.status_code == 413
        assert answer.json()["error"]["code"] == "too_large"


HOSTILE_VALUES = [
    None,
    "",
    " ",
    "x" * 10_000,
    "\x00",
    "a\x00b",
    "\ud800",
    "tab\there",
    12345,
    -1,
    2**64,
    1e308,
    1.5,
    True,
    [],
    [1, [2, [3]]],
    {"a": {"b": {"c": [1]}}},
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2025-03-04T10:22:00",
    "2025-13-45T25:61:00Z",
    "NaN",
]
FIELDS = [
    "result_id",
    "serial_number",
    "station",
    "test_item",
    "passed",
    "value",
    "low_limit",
    "high_limit",
    "log_url",
    "tested_at",
]


@pytest.mark.django_db
class HostileRowTests:
    @pytest.mark.parametrize("name", FIELDS)
    def test_no_hostile_value_of_a_field_is_a_server_error_or_half_written(
        self, station, device, name
    ):
        rows = [{**result(f"H-{index}"), name: value} for index, value in enumerate(HOSTILE_VALUES)]
        rows.append(result("GOOD"))

        answer = post(station, {"results": rows})

        assert answer.status_code in (200, 422), answer.content
        body = answer.json()
        stored = set(StationResult.objects.values_list("result_id", flat=True))
        said = {row["result_id"] for row in body["results"] if row["status"] == "stored"}
        assert said == stored
        assert "GOOD" in stored
        for row in body["results"]:
            if row["status"] == "error":
                assert name in row["errors"] or "serial_number" in row["errors"], row
        assert "" not in stored

    @pytest.mark.parametrize(
        "text",
        [
            '{"results": [{"result_id": "N", "value": NaN}]}',
            '{"results": [{"result_id": "I", "value": Infinity}]}',
            '{"results": [{"result_id": "S", "station": "\\ud800"}]}',
            '{"results": [{"result_id": "Z", "station": "\\u0000"}]}',
            '{"results": [1, "two", null, [], {"result_id": {"$gt": ""}}]}',
            '{"results": [{"value": 1' + "0" * 5000 + "}]}",
        ],
    )
    def test_json_no_python_client_would_send_is_refused_row_by_row(self, station, device, text):
        answer = post(station, text, raw=True)

        assert answer.status_code in (400, 422), answer.content
        assert not StationResult.objects.exists()


@pytest.mark.django_db
class WhoMayReportTests:
    def test_a_token_without_the_scope_is_403(self, token_for, device):
        answer = post(bearer(token_for("incidents:read")), {"results": [result()]})

        assert answer.status_code == 403
        assert not StationResult.objects.exists()

    def test_anonymous_is_401(self, client, device):
        assert post(client, {"results": [result()]}).status_code == 401

    def test_reading_the_results_address_is_405(self, station):
        assert station.get(URL).status_code == 405

    def test_a_person_signed_in_needs_the_csrf_token(self, device, staff_user):
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(staff_user)

        refused = post(browser, {"results": [result()]})
        browser.get("/admin/")
        token = browser.cookies["csrftoken"].value
        taken = browser.post(
            URL,
            json.dumps({"results": [result()]}),
            content_type="application/json",
            headers={"X-CSRFToken": token},
        )

        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "csrf")
        assert taken.status_code == 200
        assert StationResult.objects.get().reported_by == staff_user

    def test_a_person_reports_only_for_devices_they_see(self, db, client):
        ProjectAccess.objects.create(project="Secret")
        DeviceFactory(serial_number="SN-SECRET", project="Secret")
        client.force_login(StaffFactory())

        answer = post(client, {"results": [result(serial_number="SN-SECRET")]})

        assert answer.status_code == 422
        assert "serial_number" in answer.json()["results"][0]["errors"]
        assert not StationResult.objects.exists()


def fails(*ids: str, station: str = "FCT-3", passed=False, minutes: int = 0, **fields) -> list:
    """Runs of the line's device at `station`, a minute apart from `minutes` past 10:00."""
    return [
        result(
            result_id,
            station=station,
            passed=passed,
            tested_at=f"2025-03-04T10:{minutes + index:02d}:00+08:00",
            log_url=f"https://logs.example/{result_id}.txt",
            **fields,
        )
        for index, result_id in enumerate(ids)
    ]


@pytest.mark.django_db
class RepeatedFailureTests:
    """A device failing the same station three times in a row gets its incident, opened by the
    line through the workflow's own service, without anyone typing."""

    def test_three_fails_in_a_row_open_an_incident_with_the_failure_and_logs(self, station, device):
        lab = LocationFactory(code="FAE-LAB")
        StageOwnership.objects.filter(stage=Stage.REPORTED).update(work_location=lab)

        answer = post(station, {"results": fails("A", "B", "C")})

        body = answer.json()
        incident = Incident.objects.get()
        assert body["incidents_opened"] == [incident.pk]
        assert (incident.device, incident.stage) == (device, Stage.REPORTED)
        assert (incident.fail_station, incident.fail_item) == ("FCT-3", "BT_RSSI")
        assert incident.test_log_url == "https://logs.example/A.txt"
        assert incident.failed_at.isoformat() == "2025-03-04T02:00:00+00:00"
        assert (
            "FCT-3" in incident.description and "https://logs.example/C.txt" in incident.description
        )
        assert incident.reporter is None and "Opened by the line" in incident.description
        assert incident.events.get().action == "open"
        device.refresh_from_db()
        assert device.location == lab

    def test_two_fails_open_nothing_and_the_third_later_does(self, station, device):
        post(station, {"results": fails("A", "B")})
        assert not Incident.objects.exists()

        answer = post(station, {"results": fails("C", minutes=5)})

        assert len(answer.json()["incidents_opened"]) == 1

    def test_a_pass_in_between_starts_the_count_again(self, station, device):
        runs = fails("A", "B") + fails("P", passed=True, minutes=2) + fails("C", "D", minutes=3)

        post(station, {"results": runs})

        assert not Incident.objects.exists()

    def test_runs_sent_out_of_order_count_by_when_they_were_tested(self, station, device):
        runs = fails("A", "B", "C", "D")
        runs[2]["passed"] = True  # the third run in time passed

        post(station, {"results": [runs[3], runs[2], runs[0]]})
        post(station, {"results": [runs[1]]})  # the second arrives last: still not in a row

        assert not Incident.objects.exists()

    def test_fails_at_different_stations_are_not_in_a_row(self, station, device):
        post(
            station,
            {
                "results": fails("A", station="FCT-3")
                + fails("B", station="ICT-1", minutes=1)
                + fails("C", station="FCT-3", minutes=2)
            },
        )

        assert not Incident.objects.exists()

    def test_a_device_with_an_open_incident_gets_no_second_one(self, station, device):
        IncidentFactory(device=device)

        answer = post(station, {"results": fails("A", "B", "C")})

        assert answer.json()["incidents_opened"] == []
        assert Incident.objects.count() == 1
        assert StationResult.objects.count() == 3

    def test_the_same_fails_sent_again_open_nothing_more(self, station, device):
        post(station, {"results": fails("A", "B", "C")})
        Incident.objects.update(stage=Stage.RETURNED, closed_at=timezone.now())

        answer = post(station, {"results": fails("A", "B", "C")})

        assert answer.json()["incidents_opened"] == []
        assert Incident.objects.count() == 1

    def test_only_runs_since_the_last_incident_count(self, station, device):
        post(station, {"results": fails("A", "B", "C")})
        Incident.objects.update(
            stage=Stage.RETURNED,
            opened_at=timezone.make_aware(datetime(2025, 3, 4, 10, 10)),
            closed_at=timezone.make_aware(datetime(2025, 3, 4, 10, 20)),
        )

        one_more = post(station, {"results": fails("D", minutes=30)})
        three_more = post(station, {"results": fails("E", "F", minutes=31)})

        assert one_more.json()["incidents_opened"] == []
        assert len(three_more.json()["incidents_opened"]) == 1

    def test_the_count_is_a_setting(self, settings, station, device):
        settings.RESULTS_FAILS_TO_OPEN = 1

        assert len(post(station, {"results": fails("A")}).json()["incidents_opened"]) == 1


@pytest.mark.django_db
class UnknownDeviceTests:
    def test_an_unknown_serial_is_refused_by_default(self, station, device):
        answer = post(station, {"results": [result(serial_number="SN-NEW-1")]})

        assert answer.status_code == 422
        assert not Device.objects.filter(serial_number="SN-NEW-1").exists()

    def test_the_first_result_registers_it_when_the_factory_says_so(
        self, settings, station, device
    ):
        settings.RESULTS_REGISTER_UNKNOWN_DEVICES = True

        answer = post(
            station,
            {
                "results": [
                    result("A", serial_number="SN-NEW-1"),
                    result("B", serial_number="sn-new-1"),
                ]
            },
        )

        assert answer.status_code == 200
        registered = Device.objects.get(serial_number="SN-NEW-1")
        assert registered.station_results.count() == 2

    def test_a_refused_row_registers_nothing(self, settings, station, device):
        settings.RESULTS_REGISTER_UNKNOWN_DEVICES = True

        post(
            station,
            {"results": [result(serial_number="SN-NEW-2", tested_at="2099-01-01T00:00:00Z")]},
        )

        assert not Device.objects.filter(serial_number="SN-NEW-2").exists()

    def test_a_person_registers_nothing(self, settings, device, staff_client):
        settings.RESULTS_REGISTER_UNKNOWN_DEVICES = True

        answer = post(staff_client, {"results": [result(serial_number="SN-NEW-3")]})

        assert answer.status_code == 422
        assert not Device.objects.filter(serial_number="SN-NEW-3").exists()


@pytest.mark.django_db
def test_a_result_stored_meanwhile_by_another_request_is_stored_once(station, device, monkeypatch):
    from incidents.services import results

    real = results.rows_write

    def another_request_first(model, columns, rows):
        StationResult.objects.create(
            device=device,
            station="FCT-3",
            result_id="B",
            test_item="BT_RSSI",
            passed=True,
            tested_at=timezone.now(),
        )
        return real(model, columns, rows)

    monkeypatch.setattr(results, "rows_write", another_request_first)

    answer = post(station, {"results": [result("A", passed=True), result("B", passed=True)]})

    assert answer.status_code == 200
    assert sorted(StationResult.objects.values_list("result_id", flat=True)) == ["A", "B"]
