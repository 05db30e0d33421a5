import pytest
from django.core.exceptions import ValidationError

from locations.services import device_move, location_would_cycle
from tests.factories import DeviceFactory, LocationFactory, StaffFactory

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
        from django.urls import reverse

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
