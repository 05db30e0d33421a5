"""A device's trail: every change of place or holder, whichever path made it (scan station, admin
edit, workflow hand-over, back-dated import), with who, when, from, to and why; read in a fixed
number of queries; shown in words on the device and incident pages."""

import contextlib
import json
import threading
import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents.choices import DepartmentCode, Stage
from incidents.models import Department, StageOwnership
from incidents.services import incident_assign, incident_open
from locations.codes import label_payload
from locations.models import Device
from locations.selectors import device_trail
from locations.services import device_move
from tests.factories import (
    DeviceFactory,
    EmployeeFactory,
    LocationFactory,
    StaffFactory,
    SupervisorFactory,
)

pytestmark = pytest.mark.django_db


def add_past_moves(device: Device, count: int) -> None:
    """`count` earlier moves between two shelves and two holders, written straight into the
    device's history as an import would, all dated before now; the device ends at the last."""
    shelves = [LocationFactory(), LocationFactory()]
    holders = [EmployeeFactory(), EmployeeFactory(), EmployeeFactory()]
    start = timezone.now() - timedelta(days=30)
    device.history.update(history_date=start)
    model = Device.history.model
    fields = {f.attname: getattr(device, f.attname) for f in model.tracked_fields}
    rows = [
        model(
            **{**fields, "location_id": shelves[i % 2].pk, "holder_id": holders[i % 3].pk},
            history_date=start + timedelta(minutes=i + 1),
            history_type="~",
            history_change_reason=f"import {i}",
            history_user=holders[(i + 1) % 3],
        )
        for i in range(count)
    ]
    model.objects.bulk_create(rows)
    Device.objects.filter(pk=device.pk).update(
        location_id=rows[-1].location_id, holder_id=rows[-1].holder_id
    )
    device.refresh_from_db()


def trail_html(response) -> str:
    """The part of a page that shows the device's trail."""
    html = response.content.decode()
    start = html.index('data-testid="device-trail"')
    return html[start : html.index("</section>", start)]


def change_form_data(client: Client, url: str) -> dict:
    """Everything the admin change form at `url` would post back unchanged, inlines included."""
    response = client.get(url)
    assert response.status_code == 200
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        data.update({management.add_prefix(k): v for k, v in management.initial.items()})
        forms += formset.forms
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            data[form.add_prefix(name)] = "" if value is None else value
    return data


def prod_team():
    """A supervisor and a staff member of the department owning `reported`."""
    production = Department.objects.get(code=DepartmentCode.PRODUCTION)
    supervisor = SupervisorFactory(department=production)
    production.supervisors.add(supervisor)
    return supervisor, StaffFactory(department=production)


class TrailFromEachPathTests:
    def test_a_scan_station_move_records_who_when_from_to_and_why(self, client):
        operator, holder = StaffFactory(), StaffFactory()
        device, lab = DeviceFactory(), LocationFactory(code="XRAY-LAB")
        start = device.location
        client.force_login(operator)
        api = reverse("admin:locations_device_scan_api")
        before = timezone.now()

        for code in (label_payload(device), label_payload(lab)):
            client.post(api, json.dumps({"op": "scan", "code": code}), "application/json")
        client.post(
            api, json.dumps({"op": "scan", "code": label_payload(holder)}), "application/json"
        )

        newest = device_trail(device)[0]
        assert newest.by == operator
        assert before <= newest.at <= timezone.now()
        assert (newest.from_location, newest.to_location) == (start, lab)
        assert (newest.from_holder, newest.to_holder) == (None, holder)
        assert newest.moved and newest.handed_over and not newest.registered
        assert newest.reason == ""

    def test_a_scan_station_commit_keeps_its_reason(self, client):
        operator, device, lab = StaffFactory(), DeviceFactory(), LocationFactory()
        client.force_login(operator)
        api = reverse("admin:locations_device_scan_api")
        for code in (label_payload(device), label_payload(lab)):
            client.post(api, json.dumps({"op": "scan", "code": code}), "application/json")

        client.post(api, json.dumps({"op": "commit", "reason": "送修"}), "application/json")

        newest = device_trail(device)[0]
        assert (newest.to_location, newest.reason, newest.by) == (lab, "送修", operator)

    def test_the_move_button_records_the_move_with_its_reason(self, admin_client, admin_user):
        device, shelf = DeviceFactory(), LocationFactory(code="WH-B2-05")
        start = device.location
        before = timezone.now()

        response = admin_client.post(
            reverse("admin:locations_device_move_action", args=[device.pk]),
            {"location": shelf.pk, "holder": "", "reason": "入库"},
        )

        assert response.status_code == 302
        device.refresh_from_db()
        assert device.location == shelf
        newest = device_trail(device)[0]
        assert newest.by == admin_user
        assert before <= newest.at <= timezone.now()
        assert (newest.from_location, newest.to_location) == (start, shelf)
        assert newest.reason == "入库"

    def test_an_admin_edit_of_the_details_adds_no_trail_entry(self, admin_client):
        device = DeviceFactory()
        url = reverse("admin:locations_device_change", args=[device.pk])
        data = change_form_data(admin_client, url)

        response = admin_client.post(url, {**data, "rom_version": "9.9.9", "_save": "Save"})

        assert response.status_code == 302
        device.refresh_from_db()
        assert device.rom_version == "9.9.9"
        assert len(device_trail(device)) == 1

    def test_a_move_to_an_inactive_location_is_refused(self, admin_client):
        device, closed = DeviceFactory(), LocationFactory(is_active=False)
        start = device.location

        response = admin_client.post(
            reverse("admin:locations_device_move_action", args=[device.pk]),
            {"location": closed.pk, "holder": "", "reason": "Shelved"},
        )

        assert response.status_code == 200
        assert response.context["form"].errors["location"]
        device.refresh_from_db()
        assert device.location == start
        assert len(device_trail(device)) == 1

    def test_assigning_with_hand_over_makes_the_assignee_the_holder_in_the_trail(self):
        supervisor, worker = prod_team()
        previous_holder = StaffFactory()
        device = DeviceFactory(holder=previous_holder)
        incident = incident_open(device=device, reporter=worker)

        incident_assign(incident=incident, assignee=worker, by=supervisor, hand_over_device=True)

        device.refresh_from_db()
        assert device.holder == worker
        newest = device_trail(device)[0]
        assert newest.by == supervisor
        assert (newest.from_holder, newest.to_holder) == (previous_holder, worker)
        assert newest.handed_over and not newest.moved
        assert newest.reason_text == "Assigned for Reported by production"

    def test_assigning_without_hand_over_leaves_the_holder_alone(self):
        supervisor, worker = prod_team()
        device = DeviceFactory()
        incident = incident_open(device=device, reporter=worker)

        incident_assign(incident=incident, assignee=worker, by=supervisor)

        device.refresh_from_db()
        assert device.holder is None
        assert len(device_trail(device)) == 1

    def test_a_back_dated_move_carries_its_own_date(self):
        registered_at = timezone.now() - timedelta(days=10)
        moved_at = timezone.now() - timedelta(days=3)
        device = DeviceFactory()
        device.history.update(history_date=registered_at)
        start, lab = device.location, LocationFactory()

        device_move(device=device, moved_by=None, location=lab, reason="legacy sheet", at=moved_at)

        newest, registered = device_trail(device)
        assert newest.at == moved_at
        assert (newest.from_location, newest.to_location) == (start, lab)
        assert (newest.by, newest.reason) == (None, "legacy sheet")
        assert registered.at == registered_at and registered.registered

    def test_a_move_back_dated_before_the_newest_entry_keeps_the_trail_ending_where_it_is(self):
        device = DeviceFactory()
        lab = LocationFactory()

        with contextlib.suppress(ValidationError):  # refusing such a move would be fine too
            device_move(
                device=device, moved_by=None, location=lab, at=timezone.now() - timedelta(days=3)
            )

        device.refresh_from_db()
        newest = device_trail(device)[0]
        assert (newest.to_location, newest.to_holder) == (device.location, device.holder)

    def test_the_first_move_of_a_device_registered_without_a_place_is_a_move(self, admin_client):
        device = DeviceFactory(location=None)
        lab = LocationFactory(code="FAE-LAB")

        device_move(device=device, moved_by=StaffFactory(), location=lab, reason="送修")

        move, registration = device_trail(device)
        assert registration.registered
        assert not move.registered
        assert (move.from_location, move.to_location) == (None, lab)
        page = admin_client.get(reverse("admin:locations_device_change", args=[device.pk]))
        trail = trail_html(page)
        assert trail.count("Registered") == 1
        assert "— → FAE-LAB" in trail

    def test_every_path_lands_in_one_trail_newest_first(self):
        supervisor, worker = prod_team()
        device = DeviceFactory()
        first, second = LocationFactory(), LocationFactory()
        device_move(device=device, moved_by=worker, location=first, reason="one")
        incident = incident_open(device=device, reporter=worker)
        incident_assign(incident=incident, assignee=worker, by=supervisor, hand_over_device=True)
        device_move(device=device, moved_by=worker, location=second, reason="three")

        reasons = [entry.reason_text for entry in device_trail(device)]

        assert reasons == ["three", "Assigned for Reported by production", "one", ""]


class TrailQueryCountTests:
    def _trail_queries(self, moves: int) -> tuple[int, int]:
        device = DeviceFactory()
        add_past_moves(device, moves)
        with CaptureQueriesContext(connection) as captured:
            trail = device_trail(device)
            # Everything the page reads of each entry.
            for entry in trail:
                _ = (entry.by and entry.by.get_full_name(), entry.from_location, entry.to_holder)
        return len(captured), len(trail)

    def test_the_trail_of_a_thousand_moves_costs_the_same_few_queries_as_ten(self):
        short, short_length = self._trail_queries(10)
        long, long_length = self._trail_queries(1000)

        assert (short_length, long_length) == (11, 1001)
        assert short == long <= 3

    def test_the_device_change_page_does_not_cost_more_with_a_longer_trail(self, admin_client):
        counts = []
        for moves in (10, 1000):
            device = DeviceFactory()
            add_past_moves(device, moves)
            url = reverse("admin:locations_device_change", args=[device.pk])
            with CaptureQueriesContext(connection) as captured:
                response = admin_client.get(url)
            assert response.status_code == 200
            assert trail_html(response).count('data-testid="trail-entry"') == moves + 1
            counts.append(len(captured))

        assert counts[0] == counts[1]


class TrailOnPagesTests:
    def test_the_device_page_shows_the_trail_in_words(self, admin_client):
        mover, holder = StaffFactory(display_name="Li Lei"), StaffFactory(display_name="Han Mei")
        device = DeviceFactory(location=LocationFactory(code="LINE-3"))
        device_move(
            device=device,
            moved_by=mover,
            location=LocationFactory(code="XRAY-LAB"),
            holder=holder,
            reason="送修",
        )

        response = admin_client.get(reverse("admin:locations_device_change", args=[device.pk]))

        trail = trail_html(response)
        assert "LINE-3 → XRAY-LAB" in trail
        assert "holder: — → <strong>Han Mei</strong>" in trail
        assert "Li Lei" in trail and "送修" in trail
        assert "Registered" in trail

    def test_the_incident_page_shows_the_device_trail_in_words(self, admin_client):
        device = DeviceFactory(location=LocationFactory(code="LINE-3"))
        incident = incident_open(device=device, reporter=StaffFactory())
        device_move(device=device, moved_by=None, location=LocationFactory(code="FAE-LAB"))

        response = admin_client.get(reverse("admin:incidents_incident_change", args=[incident.pk]))

        assert response.status_code == 200
        trail = trail_html(response)
        assert "LINE-3 → FAE-LAB" in trail
        assert "system" in trail

    @pytest.fixture
    def incident_with_work_location(self):
        lab = LocationFactory(code="PROD-DESK")
        StageOwnership.objects.filter(stage=Stage.REPORTED).update(work_location=lab)
        device = DeviceFactory(location=LocationFactory(code="LINE-3"))
        return incident_open(device=device, reporter=StaffFactory()), lab

    def test_the_incident_page_warns_when_the_device_is_not_where_its_stage_works(
        self, admin_client, incident_with_work_location
    ):
        incident, _lab = incident_with_work_location

        response = admin_client.get(reverse("admin:incidents_incident_change", args=[incident.pk]))

        html = response.content.decode()
        assert 'data-testid="custody-warning"' in html
        assert "Reported by production works at PROD-DESK" in html
        assert f"device {incident.device.serial_number} is at LINE-3" in html

    def test_the_incident_page_does_not_warn_once_the_device_is_there(
        self, admin_client, incident_with_work_location
    ):
        incident, lab = incident_with_work_location
        device_move(device=incident.device, moved_by=None, location=lab)

        response = admin_client.get(reverse("admin:incidents_incident_change", args=[incident.pk]))

        assert response.status_code == 200
        assert 'data-testid="custody-warning"' not in response.content.decode()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL row locks (SELECT … FOR UPDATE)"
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
class ConcurrentMoveTests:
    HOLD_SECONDS = 0.15

    def test_two_stations_moving_one_device_at_once_are_both_recorded_in_order(self):
        device = DeviceFactory()
        start = device.location
        targets = [LocationFactory(code="STATION-A"), LocationFactory(code="STATION-B")]
        movers = [StaffFactory(), StaffFactory()]
        barrier = threading.Barrier(2)
        errors: list[Exception] = []

        def move(index: int) -> None:
            try:
                barrier.wait(timeout=10)
                # As a request would: the row stays locked until the outer transaction commits.
                with transaction.atomic():
                    device_move(
                        device=device,
                        moved_by=movers[index],
                        location=targets[index],
                        reason=f"station {index}",
                    )
                    time.sleep(self.HOLD_SECONDS)
            except Exception as error:
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=move, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        assert errors == []
        device.refresh_from_db()
        rows = list(device.history.order_by("history_date", "history_id"))
        assert len(rows) == 3
        assert device.location_id == rows[-1].location_id
        later, earlier, registered = device_trail(device)
        assert registered.to_location == start
        assert earlier.from_location == start
        assert later.from_location == earlier.to_location
        assert {earlier.to_location, later.to_location} == set(targets)
        assert later.at >= earlier.at + timedelta(seconds=self.HOLD_SECONDS * 0.9)
        assert later.to_location == device.location
