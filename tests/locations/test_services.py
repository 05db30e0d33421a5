import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse

from incidents.models import Incident
from locations.services import device_move, location_would_cycle
from tests.factories import (
    DeviceFactory,
    EmployeeFactory,
    IncidentFactory,
    LocationFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db


class DeviceMoveTests:
    def test_move_changes_custody_and_records_who_why_from_and_to(self):
        device = DeviceFactory()
        start = device.location
        shelf, mover, holder = LocationFactory(code="XRAY-LAB"), StaffFactory(), StaffFactory()

        device_move(device=device, moved_by=mover, location=shelf, holder=holder, reason="送分析")

        device.refresh_from_db()
        assert (device.location, device.holder) == (shelf, holder)
        latest, previous = device.history.all()[:2]
        assert latest.history_user == mover
        assert latest.history_change_reason == "送分析"
        assert (previous.location_id, latest.location_id) == (start.pk, shelf.pk)

    def test_inactive_location_is_refused_and_nothing_changes(self):
        device = DeviceFactory()
        closed = LocationFactory(is_active=False)

        with pytest.raises(ValidationError, match="inactive"):
            device_move(device=device, moved_by=None, location=closed)

        device.refresh_from_db()
        assert device.location != closed
        assert device.history.count() == 1

    def test_inactive_holder_is_refused(self):
        with pytest.raises(ValidationError, match="inactive"):
            device_move(device=DeviceFactory(), moved_by=None, holder=StaffFactory(is_active=False))


class LocationTreeTests:
    def test_a_location_cannot_move_under_its_own_descendant(self):
        building = LocationFactory()
        area = LocationFactory(parent=building)

        assert location_would_cycle(location=building, parent=area)
        assert not location_would_cycle(location=area, parent=building)


class LocationAdminTests:
    def test_admin_refuses_to_put_a_location_under_its_own_child(self, admin_client):
        building = LocationFactory(code="BLD")
        area = LocationFactory(code="BLD-1", parent=building)

        response = admin_client.post(
            reverse("admin:locations_location_change", args=[building.pk]),
            {"code": "BLD", "name": "Building", "kind": "building", "parent": area.pk},
        )

        building.refresh_from_db()
        assert response.status_code == 200
        assert "cannot sit inside itself" in response.content.decode()
        assert building.parent is None


class OpenIncidentsBulkActionTests:
    def test_opens_one_incident_per_device_and_refuses_devices_already_open(self, client):
        fresh, busy = DeviceFactory(), IncidentFactory().device
        reporter = StaffFactory()
        client.force_login(reporter)

        response = client.post(
            reverse("admin:locations_device_changelist"),
            {"action": "open_incidents", "_selected_action": [fresh.pk, busy.pk]},
        )

        texts = [str(m) for m in get_messages(response.wsgi_request)]
        assert Incident.objects.get(device=fresh).reporter == reporter
        assert Incident.objects.filter(device=busy).count() == 1
        assert any("Opened 1 incident(s)" in t for t in texts)
        assert any(f"{busy.serial_number} already has an open incident" in t for t in texts)

    def test_people_who_may_not_report_do_not_get_the_action(self, client):
        client.force_login(EmployeeFactory())

        response = client.post(
            reverse("admin:locations_device_changelist"),
            {"action": "open_incidents", "_selected_action": [DeviceFactory().pk]},
        )

        assert response.status_code == 403


class WhereIsSearchTests:
    def test_part_of_a_serial_number_answers_where_the_device_is_and_who_holds_it(
        self, staff_client
    ):
        shelf = LocationFactory(code="WH-B2-05", name="Shelf 5")
        holder = StaffFactory(display_name="Zhou Tao")
        DeviceFactory(serial_number="C027322286J0", location=shelf, holder=holder)

        response = staff_client.get(reverse("admin:search"), {"s": "7322286", "extended": "1"})

        page = response.content.decode()
        assert "C027322286J0" in page
        assert "WH-B2-05" in page
        assert "Zhou Tao" in page
