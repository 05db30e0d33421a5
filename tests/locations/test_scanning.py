"""The scan station through its real JSON API: a device, a person and a location scanned in any
order make one move; a reason can be given; mistakes are refused in words and change nothing;
the last move can be undone; the reply tells where the device's incident needs it."""

import itertools
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents.choices import Stage
from incidents.models import StageOwnership
from incidents.services import incident_open
from locations.codes import label_payload
from locations.models import Device, Location
from locations.selectors import device_trail
from locations.services import device_move
from tests.factories import (
    DeviceFactory,
    EmployeeFactory,
    LocationFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db

API = "admin:locations_device_scan_api"
# What one committed move through the API may cost, whatever the device's past: session, user and
# permissions, the code and the pending scans, the locked update with its trail row, the reply
# with its incident and stage location (28 when written).
MAX_QUERIES_PER_COMMITTING_SCAN = 30


@pytest.fixture
def station(client):
    """A staff member logged in at the scan station; call it with the JSON to post."""
    operator = StaffFactory()
    client.force_login(operator)

    def post(**data) -> dict:
        response = client.post(reverse(API), json.dumps(data), content_type="application/json")
        assert response.status_code == 200, response.content
        return response.json()

    post.operator = operator
    post.client = client
    return post


def scan(station, obj_or_code) -> dict:
    code = obj_or_code if isinstance(obj_or_code, str) else label_payload(obj_or_code)
    return station(op="scan", code=code)


def custody(device: Device) -> tuple[int | None, int | None, int]:
    """Where the device is, who holds it, and how many trail rows it has."""
    device.refresh_from_db()
    return device.location_id, device.holder_id, device.history.count()


def add_past_moves(device: Device, count: int) -> None:
    """`count` earlier moves between two shelves, written straight into the device's history as
    an import would, all dated before now; the device ends at the last one."""
    shelves = [LocationFactory(), LocationFactory()]
    start = timezone.now() - timedelta(days=30)
    device.history.update(history_date=start)
    model = Device.history.model
    fields = {f.attname: getattr(device, f.attname) for f in model.tracked_fields}
    model.objects.bulk_create(
        model(
            **{**fields, "location_id": shelves[i % 2].pk},
            history_date=start + timedelta(minutes=i + 1),
            history_type="~",
            history_change_reason="import",
        )
        for i in range(count)
    )
    Device.objects.filter(pk=device.pk).update(location=shelves[(count - 1) % 2])
    device.refresh_from_db()


class ScanAnyOrderTests:
    @pytest.mark.parametrize(
        "order",
        list(itertools.permutations(["device", "person", "location"])),
        ids="-".join,
    )
    def test_the_third_scan_commits_exactly_one_move_of_place_and_holder(self, station, order):
        device = DeviceFactory()
        things = {"device": device, "person": StaffFactory(), "location": LocationFactory()}

        first, second, third = (scan(station, things[what]) for what in order)

        assert first["level"] == "info"
        assert second["level"] in ("info", "ready")
        assert third["level"] == "moved", third
        device.refresh_from_db()
        assert (device.location, device.holder) == (things["location"], things["person"])
        assert device.history.count() == 2
        latest = device.history.first()
        assert latest.history_user == station.operator
        assert third["pending"] == {}
        assert third["moves"][0]["serial"] == device.serial_number
        assert third["device"]["where"].startswith(things["location"].code)
        assert things["person"].get_full_name() in third["device"]["where"]

    def test_device_then_location_is_ready_and_commit_moves_it_with_the_reason(self, station):
        device = DeviceFactory()
        holder_before = device.holder
        lab = LocationFactory(code="XRAY-LAB")

        assert scan(station, device)["level"] == "info"
        ready = scan(station, lab)
        moved = station(op="commit", reason="送修")

        assert ready["level"] == "ready"
        assert moved["level"] == "moved"
        assert moved["message"] == f"Moved {device.serial_number} to {lab}."
        device.refresh_from_db()
        assert (device.location, device.holder) == (lab, holder_before)
        assert device.history.first().history_change_reason == "送修"

    def test_device_then_person_commit_hands_it_over_where_it_is(self, station):
        device = DeviceFactory()
        place, person = device.location, StaffFactory()

        scan(station, device)
        scan(station, person)
        moved = station(op="commit", reason="FAE领用")

        assert moved["level"] == "moved"
        device.refresh_from_db()
        assert (device.location, device.holder) == (place, person)

    def test_bare_legacy_codes_work_as_well_as_labels(self, station):
        device, person, place = DeviceFactory(), StaffFactory(), LocationFactory()

        scan(station, device.serial_number)
        scan(station, place.code.lower())
        moved = scan(station, f"  {person.employee_number} ")

        assert moved["level"] == "moved"
        device.refresh_from_db()
        assert (device.location, device.holder) == (place, person)

    def test_commit_without_a_device_is_refused(self, station):
        scan(station, LocationFactory())

        reply = station(op="commit", reason="")

        assert reply["level"] == "error"
        assert "Scan a device" in reply["message"]

    def test_clear_forgets_what_was_scanned(self, station):
        device = DeviceFactory()
        before = custody(device)
        scan(station, device)

        cleared = station(op="clear")
        after_clear = scan(station, LocationFactory())

        assert cleared["level"] == "info"
        assert cleared["pending"] == {}
        assert after_clear["level"] == "info"
        assert custody(device) == before

    def test_an_unknown_operation_is_a_bad_request(self, station):
        response = station.client.post(
            reverse(API), json.dumps({"op": "teleport"}), content_type="application/json"
        )

        assert response.status_code == 400


class ScanMistakeTests:
    def test_a_second_device_before_the_first_is_moved_is_refused_and_nothing_changes(
        self, station
    ):
        first, second = DeviceFactory(), DeviceFactory()
        before = custody(first), custody(second)
        scan(station, first)

        reply = scan(station, second)

        assert reply["level"] == "error"
        assert "Finish moving the device scanned first" in reply["message"]
        assert reply["pending"] == {"device": first.serial_number}
        assert (custody(first), custody(second)) == before

    def test_the_first_device_can_still_be_moved_after_the_refusal(self, station):
        first, second, place = DeviceFactory(), DeviceFactory(), LocationFactory()
        before_second = custody(second)
        scan(station, first)
        scan(station, second)

        scan(station, place)
        moved = station(op="commit", reason="")

        assert moved["level"] == "moved"
        assert custody(first)[0] == place.pk
        assert custody(second) == before_second

    @pytest.mark.parametrize("kind", ["device", "person", "location"])
    def test_scanning_the_same_thing_twice_is_refused(self, station, kind):
        device = DeviceFactory()
        thing = {"device": device, "person": StaffFactory(), "location": LocationFactory()}[kind]
        before = custody(device)
        scan(station, thing)

        reply = scan(station, thing)

        assert reply["level"] == "error"
        assert "was already scanned" in reply["message"]
        assert custody(device) == before

    def test_a_second_location_is_refused(self, station):
        device = DeviceFactory()
        before = custody(device)
        scan(station, device)
        scan(station, LocationFactory())

        reply = scan(station, LocationFactory())

        assert reply["level"] == "error"
        assert "A location was scanned already" in reply["message"]
        assert custody(device) == before

    def test_an_unknown_code_is_refused_in_words(self, station):
        reply = scan(station, "NO-SUCH-THING")

        assert reply["level"] == "error"
        assert reply["message"] == "NO-SUCH-THING is not a known device, person or location."
        assert reply["pending"] == {}

    def test_an_inactive_holder_is_refused_and_nothing_changes(self, station):
        device, place = DeviceFactory(), LocationFactory()
        gone = StaffFactory(is_active=False)
        before = custody(device)
        scan(station, device)
        scan(station, place)

        reply = scan(station, gone)

        assert reply["level"] == "error"
        assert "inactive and cannot hold devices" in reply["message"]
        assert "employee" not in reply["pending"]
        assert custody(device) == before

    def test_an_inactive_location_is_refused_and_nothing_changes(self, station):
        device, person = DeviceFactory(), StaffFactory()
        closed = LocationFactory(is_active=False)
        before = custody(device)
        scan(station, device)
        scan(station, person)

        reply = scan(station, closed)

        assert reply["level"] == "error"
        assert f"Location {closed.code} is inactive" in reply["message"]
        assert custody(device) == before

    def test_a_deleted_location_code_is_refused_and_nothing_changes(self, station):
        device = DeviceFactory()
        removed = LocationFactory(code="OLD-SHELF")
        payload = label_payload(removed)
        removed.delete()
        before = custody(device)
        scan(station, device)

        reply = scan(station, payload)

        assert reply["level"] == "error"
        assert reply["message"] == "No location with code OLD-SHELF is registered."
        assert custody(device) == before

    def test_moving_a_device_where_it_already_is_records_nothing(self, station):
        device = DeviceFactory()
        before = custody(device)
        scan(station, device)
        scan(station, device.location)

        reply = station(op="commit", reason="")

        assert reply["level"] == "error"
        assert "nothing to record" in reply["message"]
        assert custody(device) == before


class UndoTests:
    def test_undo_puts_the_device_back_where_and_with_whom_it_was(self, station):
        old_holder = StaffFactory()
        device = DeviceFactory(holder=old_holder)
        old_place = device.location
        scan(station, device)
        scan(station, LocationFactory())
        scan(station, StaffFactory())

        reply = station(op="undo")

        assert reply["level"] == "undone"
        assert reply["message"] == (
            f"Undone: {device.serial_number} is back at {old_place}, "
            f"held by {old_holder.get_full_name()}."
        )
        assert [move["undone"] for move in reply["moves"]] == [True]
        device.refresh_from_db()
        assert (device.location, device.holder) == (old_place, old_holder)
        newest = device_trail(device)[0]
        assert (newest.to_location, newest.to_holder) == (old_place, old_holder)
        assert newest.by == station.operator
        assert newest.reason_text == "Undo"

    def test_the_undo_is_recorded_in_the_trail_with_the_reason_it_undid(self, station):
        device, lab = DeviceFactory(), LocationFactory()
        old_place = device.location
        scan(station, device)
        scan(station, lab)
        station(op="commit", reason="送修")

        station(op="undo")

        trail = device_trail(device)
        assert len(trail) == 3
        undo, move, registered = trail
        assert (move.from_location, move.to_location, move.reason) == (old_place, lab, "送修")
        assert (undo.from_location, undo.to_location) == (lab, old_place)
        assert undo.reason_text == "Undo: 送修"
        assert undo.by == station.operator
        assert registered.registered

    def test_undo_without_a_move_in_this_session_is_refused(self, station):
        reply = station(op="undo")

        assert reply["level"] == "error"
        assert "no move to undo" in reply["message"]

    def test_undo_after_the_device_moved_again_elsewhere_is_refused(self, station):
        device, place, elsewhere = DeviceFactory(), LocationFactory(), LocationFactory()
        scan(station, device)
        scan(station, place)
        station(op="commit", reason="")
        device_move(device=device, moved_by=StaffFactory(), location=elsewhere)
        before = custody(device)

        reply = station(op="undo")

        assert reply["level"] == "error"
        assert "has moved since" in reply["message"]
        assert custody(device) == before
        assert before[0] == elsewhere.pk

    def test_undo_is_refused_when_the_old_place_was_closed_since(self, station):
        device, lab = DeviceFactory(), LocationFactory()
        old_place = device.location
        scan(station, device)
        scan(station, lab)
        station(op="commit", reason="")
        Location.objects.filter(pk=old_place.pk).update(is_active=False)

        reply = station(op="undo")

        assert reply["level"] == "error"
        assert custody(device)[0] == lab.pk

    def test_undo_is_refused_when_the_old_holder_left_since(self, station):
        old_holder = StaffFactory()
        device = DeviceFactory(holder=old_holder)
        scan(station, device)
        scan(station, StaffFactory())
        station(op="commit", reason="")
        old_holder.is_active = False
        old_holder.save()

        reply = station(op="undo")

        assert reply["level"] == "error"
        assert custody(device)[1] != old_holder.pk

    def test_undo_twice_undoes_only_the_last_move(self, station):
        device, place = DeviceFactory(), LocationFactory()
        start = device.location
        scan(station, device)
        scan(station, place)
        station(op="commit", reason="")

        station(op="undo")
        second = station(op="undo")

        assert second["level"] == "error"
        assert "undone already" in second["message"]
        device.refresh_from_db()
        assert device.location == start

    def test_an_undone_move_stays_in_the_session_list_marked_undone(self, station):
        first, second = DeviceFactory(), DeviceFactory()
        scan(station, first)
        scan(station, LocationFactory())
        station(op="commit", reason="")
        scan(station, second)
        scan(station, LocationFactory())
        station(op="commit", reason="")

        reply = station(op="undo")

        assert [(m["serial"], m.get("undone", False)) for m in reply["moves"]] == [
            (second.serial_number, True),
            (first.serial_number, False),
        ]

    def test_a_new_move_after_an_undo_can_be_undone_in_its_turn(self, station):
        device = DeviceFactory()
        start = device.location
        scan(station, device)
        scan(station, LocationFactory())
        station(op="commit", reason="")
        station(op="undo")
        scan(station, device)
        scan(station, LocationFactory())
        station(op="commit", reason="")

        reply = station(op="undo")

        assert reply["level"] == "undone"
        assert [m.get("undone", False) for m in reply["moves"]] == [True, True]
        assert custody(device)[0] == start.pk


class ReadyTellsWhatStaysTests:
    """With a device and one other thing scanned nothing is recorded yet, and the reply says what
    the move will leave as it is (device_move changes only what it is given)."""

    def test_device_and_location_say_the_holder_keeps_it_and_record_nothing(self, station):
        holder = StaffFactory(display_name="Zhou Tao")
        device = DeviceFactory(holder=holder)
        lab = LocationFactory(code="XRAY-LAB")
        before = custody(device)

        scan(station, device)
        ready = scan(station, lab)

        assert ready["level"] == "ready"
        assert ready["kept"] == {"employee": "Zhou Tao"}
        assert (
            f"{device.serial_number} goes to {lab}; Zhou Tao keeps holding it."
            in (ready["message"])
        )
        assert "Press Enter" in ready["message"]
        assert custody(device) == before

    def test_the_holder_announced_as_kept_is_the_one_the_move_records(self, station):
        holder = StaffFactory()
        device = DeviceFactory(holder=holder)
        lab = LocationFactory()
        scan(station, lab)

        ready = scan(station, device)
        moved = station(op="commit", reason="")

        assert ready["kept"] == {"employee": holder.get_full_name()}
        assert moved["level"] == "moved"
        assert custody(device)[:2] == (lab.pk, holder.pk)

    def test_a_device_held_by_nobody_is_said_to_stay_held_by_nobody(self, station):
        device = DeviceFactory(holder=None)

        scan(station, device)
        ready = scan(station, LocationFactory())

        assert ready["kept"] == {"employee": "nobody"}
        assert "stays held by nobody" in ready["message"]

    def test_device_and_person_say_the_device_stays_where_it_is(self, station):
        device = DeviceFactory()
        person = StaffFactory(display_name="Li Na")

        scan(station, device)
        ready = scan(station, person)

        assert ready["level"] == "ready"
        assert ready["kept"] == {"location": str(device.location)}
        assert f"goes to Li Na and stays at {device.location}." in ready["message"]

    def test_nothing_is_said_to_stay_once_all_three_are_scanned(self, station):
        scan(station, DeviceFactory())
        scan(station, LocationFactory())

        moved = scan(station, StaffFactory())

        assert moved["level"] == "moved"
        assert moved["kept"] == {}


class CommandCodeTests:
    """The printed command codes do what the keys do, for a clerk holding only a scanner."""

    def test_scanning_move_now_records_the_ready_move_with_the_reason(self, station):
        device, lab = DeviceFactory(), LocationFactory()
        scan(station, device)
        scan(station, lab)

        moved = station(op="scan", code="CMD:MOVE", reason="送修")

        assert moved["level"] == "moved"
        assert custody(device)[0] == lab.pk
        assert device.history.first().history_change_reason == "送修"

    def test_scanning_undo_undoes_the_last_move(self, station):
        device = DeviceFactory()
        start = device.location
        scan(station, device)
        scan(station, LocationFactory())
        station(op="commit", reason="")

        reply = scan(station, "CMD:UNDO")

        assert reply["level"] == "undone"
        assert custody(device)[0] == start.pk

    def test_scanning_start_over_forgets_what_was_scanned(self, station):
        scan(station, DeviceFactory())

        reply = scan(station, "CMD:CLEAR")

        assert (reply["level"], reply["pending"]) == ("info", {})

    def test_command_codes_are_read_whatever_case_the_scanner_types(self, station):
        device = DeviceFactory()
        scan(station, device)
        scan(station, LocationFactory())

        assert scan(station, " cmd:move ")["level"] == "moved"
        assert scan(station, "Cmd:Undo")["level"] == "undone"

    def test_an_unknown_command_code_is_refused_in_words_and_keeps_the_scans(self, station):
        device = DeviceFactory()
        scan(station, device)

        reply = scan(station, "CMD:TELEPORT")

        assert reply["level"] == "error"
        assert "not a command this station knows" in reply["message"]
        assert reply["pending"] == {"device": device.serial_number}

    def test_move_now_with_only_a_device_scanned_is_refused(self, station):
        device = DeviceFactory()
        before = custody(device)
        scan(station, device)

        reply = scan(station, "CMD:MOVE")

        assert reply["level"] == "error"
        assert custody(device) == before


class IncidentInTheReplyTests:
    @pytest.fixture
    def incident(self):
        return incident_open(device=DeviceFactory(), reporter=StaffFactory())

    def test_the_reply_names_the_open_incident_and_its_stage(self, station, incident):
        reply = scan(station, incident.device)

        assert reply["device"]["serial"] == incident.device.serial_number
        assert reply["device"]["incident"] == f"#{incident.pk} · Reported by production"

    def test_the_reply_says_where_the_stage_needs_the_device(self, station, incident):
        lab = LocationFactory(code="PROD-DESK")
        StageOwnership.objects.filter(stage=Stage.REPORTED).update(work_location=lab)

        reply = scan(station, incident.device)

        assert reply["device"]["gate"] == "Reported by production needs this device at PROD-DESK."

    def test_arriving_at_the_stage_work_location_says_the_stage_waits_here(self, station, incident):
        lab = LocationFactory(code="PROD-DESK")
        StageOwnership.objects.filter(stage=Stage.REPORTED).update(work_location=lab)
        scan(station, incident.device)
        scan(station, lab)

        reply = station(op="commit", reason="")

        assert reply["level"] == "moved"
        assert reply["device"]["incident"] == f"#{incident.pk} · Reported by production"
        assert reply["device"]["gate"] == (
            f"Reported by production is waiting for this device here (incident #{incident.pk})."
        )

    def test_a_device_without_an_open_incident_has_no_incident_line(self, station):
        reply = scan(station, DeviceFactory())

        assert reply["device"]["incident"] == ""
        assert reply["device"]["gate"] == ""


class AccessTests:
    def test_anonymous_api_calls_are_sent_to_the_login(self, client):
        device = DeviceFactory()

        response = client.post(
            reverse(API),
            json.dumps({"op": "scan", "code": label_payload(device)}),
            content_type="application/json",
        )

        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))

    def test_someone_who_may_not_change_devices_is_forbidden(self, client):
        device = DeviceFactory()
        before = custody(device)
        client.force_login(EmployeeFactory())

        responses = [
            client.post(
                reverse(API),
                json.dumps({"op": "scan", "code": label_payload(thing)}),
                content_type="application/json",
            )
            for thing in (device, LocationFactory(), StaffFactory())
        ]

        assert [r.status_code for r in responses] == [403, 403, 403]
        assert custody(device) == before

    def test_the_scan_station_page_renders_for_staff(self, staff_client):
        response = staff_client.get(reverse("admin:locations_device_scan"))

        assert response.status_code == 200
        assert 'data-testid="scan-input"' in response.content.decode()

    def test_the_scan_station_page_is_forbidden_without_change_device(self, client):
        client.force_login(EmployeeFactory())

        response = client.get(reverse("admin:locations_device_scan"))

        assert response.status_code == 403


class QueryCountTests:
    def _committing_scan_queries(self, station, django_assert_max_num_queries, past: int) -> int:
        device = DeviceFactory()
        add_past_moves(device, past)
        assert device.history.count() == past + 1
        # The reply also reads the open incident and where its stage works.
        incident_open(device=device, reporter=StaffFactory())
        place = LocationFactory()
        StageOwnership.objects.filter(stage=Stage.REPORTED).update(work_location=place)
        scan(station, device)
        scan(station, StaffFactory())
        code = label_payload(place)
        with django_assert_max_num_queries(MAX_QUERIES_PER_COMMITTING_SCAN) as captured:
            reply = scan(station, code)
        assert reply["level"] == "moved"
        device.refresh_from_db()
        assert device.location == place
        assert reply["device"]["gate"].startswith("Reported by production is waiting")
        return len(captured)

    def test_a_committed_move_costs_a_small_constant_number_of_queries(
        self, station, django_assert_max_num_queries
    ):
        short = self._committing_scan_queries(station, django_assert_max_num_queries, past=1)
        long = self._committing_scan_queries(station, django_assert_max_num_queries, past=200)

        assert short == long

    def test_scanning_a_device_with_a_long_trail_costs_the_same(self, station):
        counts = []
        for past in (1, 200):
            device = DeviceFactory()
            add_past_moves(device, past)
            with CaptureQueriesContext(connection) as captured:
                scan(station, device)
            station(op="clear")
            counts.append(len(captured))

        assert counts[0] == counts[1]
