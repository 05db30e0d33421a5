"""Places named in a device's trail are deactivated, not deleted: the delete page and the bulk
delete refuse them and say so, "Deactivate selected" closes them (with history), and a closed
place takes no device at the scan station."""

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.test import Client, RequestFactory
from django.urls import reverse

from locations import reasons
from locations.models import Device, Location
from locations.selectors import device_trail
from locations.services import device_move
from tests.factories import (
    AdminFactory,
    DeviceFactory,
    LocationFactory,
    StaffFactory,
    SuperuserFactory,
)
from tests.locations.test_scanning import scan, station  # noqa: F401  (the station fixture)

pytestmark = pytest.mark.django_db

LOCATIONS = "admin:locations_location_changelist"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def left_behind() -> Location:
    """A shelf a device sat on and then left: named only in the device's history."""
    shelf, device = LocationFactory(code="OLD-SHELF"), DeviceFactory()
    device_move(device=device, moved_by=None, location=shelf)
    device_move(device=device, moved_by=None, location=LocationFactory())
    return shelf


class DeletingLocationsTests:
    def test_a_location_in_a_device_trail_is_not_deleted_and_the_page_says_deactivate(self):
        shelf = left_behind()
        trail = list(Device.history.values_list("history_id", "location_id"))

        response = client_for(SuperuserFactory()).post(
            reverse("admin:locations_location_delete", args=[shelf.pk]), {"post": "yes"}
        )

        page = response.content.decode()
        assert response.status_code == 200
        assert "deactivate it instead of deleting it" in page
        assert "history of devices" in page
        assert Location.objects.filter(pk=shelf.pk).exists()
        assert list(Device.history.values_list("history_id", "location_id")) == trail

    def test_the_bulk_delete_refuses_it_too(self):
        shelf, unused = left_behind(), LocationFactory()

        response = client_for(AdminFactory()).post(
            reverse(LOCATIONS),
            {"action": "delete_selected", "_selected_action": [shelf.pk, unused.pk], "post": "yes"},
        )

        assert "deactivate it instead of deleting it" in response.content.decode()
        assert Location.objects.filter(pk__in=[shelf.pk, unused.pk]).count() == 2

    def test_a_location_no_trail_names_can_be_deleted(self):
        unused = LocationFactory()

        response = client_for(AdminFactory()).post(
            reverse("admin:locations_location_delete", args=[unused.pk]), {"post": "yes"}
        )

        assert response.status_code == 302
        assert not Location.objects.filter(pk=unused.pk).exists()


def deactivate(by, *locations):
    return client_for(by).post(
        reverse(LOCATIONS),
        {"action": "deactivate_selected", "_selected_action": [loc.pk for loc in locations]},
        follow=True,
    )


class DeactivatingLocationsTests:
    def test_deactivating_closes_the_selected_locations_with_a_history_entry(self):
        shelf, other = left_behind(), LocationFactory()
        administrator = AdminFactory()

        response = deactivate(administrator, shelf, other)

        assert not Location.objects.filter(pk__in=[shelf.pk, other.pk], is_active=True).exists()
        latest = shelf.history.latest()
        assert (
            latest.is_active,
            latest.history_user,
            reasons.text(latest.history_change_reason),
        ) == (
            False,
            administrator,
            "Deactivated",
        )
        assert reasons.is_code(latest.history_change_reason)
        assert any(
            message.startswith("Deactivated: ") and "OLD-SHELF" in message
            for message in messages_of(response)
        )

    def test_a_deactivated_location_cannot_be_scanned_as_a_destination(self, station):  # noqa: F811
        shelf, device, person = left_behind(), DeviceFactory(), StaffFactory()
        deactivate(AdminFactory(), shelf)
        scan(station, device)
        scan(station, person)

        reply = scan(station, shelf)

        assert reply["level"] == "error"
        assert "OLD-SHELF is inactive" in reply["message"]
        assert Device.objects.get(pk=device.pk).location_id != shelf.pk

    def test_the_device_trail_keeps_naming_a_deactivated_location(self):
        shelf, device = LocationFactory(code="OLD-SHELF"), DeviceFactory()
        device_move(device=device, moved_by=None, location=shelf)

        deactivate(AdminFactory(), shelf)

        assert device_trail(device)[0].to_location.code == "OLD-SHELF"

    def test_the_action_is_offered_to_those_who_may_change_locations(self):
        request = RequestFactory().get("/admin/")
        model_admin = admin.site._registry[Location]

        request.user = AdminFactory()
        assert "deactivate_selected" in model_admin.get_actions(request)
        request.user = StaffFactory()
        assert "deactivate_selected" not in model_admin.get_actions(request)
