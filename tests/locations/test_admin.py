"""Places named in a device's trail are deactivated, not deleted: the delete page and the bulk
delete refuse them and say so, "Deactivate selected" closes them (with history), and a closed
place takes no device at the scan station. A device's page edits what the device is; where it
is and who holds it change only through its Move form (or the scan station), with a reason."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from unfold.contrib.filters.admin import AutocompleteSelectFilter

from incidents.admin.devices import DeviceKindFilter
from incidents.models import ProjectAccess
from locations import reasons
from locations.models import Device, Location
from locations.selectors import device_trail
from locations.services import device_move
from tests.admin_pages import form_data
from tests.factories import (
    AdminFactory,
    DeviceFactory,
    EmployeeFactory,
    LocationFactory,
    StaffFactory,
    SuperuserFactory,
    SupervisorFactory,
)
from tests.locations.test_scanning import scan, station  # noqa: F401  (the station fixture)
from tests.locations.test_trail import change_form_data

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


def change_url(device: Device) -> str:
    return reverse("admin:locations_device_change", args=[device.pk])


def move_url(device: Device) -> str:
    return reverse("admin:locations_device_move_action", args=[device.pk])


class DeviceChangeFormTests:
    def test_the_device_form_edits_the_details_and_never_moves_the_device(self):
        device, shelf, somebody = DeviceFactory(), LocationFactory(), StaffFactory()
        start, serial = device.location, device.serial_number
        client = client_for(SupervisorFactory())
        data = change_form_data(client, change_url(device))

        response = client.post(
            change_url(device),
            {
                **data,
                "rom_version": "9.9.9",
                "location": shelf.pk,
                "holder": somebody.pk,
                "serial_number": "SN-RENAMED",
                "_save": "Save",
            },
        )

        assert response.status_code == 302
        device.refresh_from_db()
        assert device.rom_version == "9.9.9"
        assert (device.location, device.holder, device.serial_number) == (start, None, serial)
        assert len(device_trail(device)) == 1

    def test_a_form_opened_before_a_move_does_not_undo_it_when_saved(self):
        device, shelf = DeviceFactory(), LocationFactory()
        client = client_for(SupervisorFactory())
        data = change_form_data(client, change_url(device))
        device_move(device=device, moved_by=None, location=shelf, reason="Scanned")

        client.post(change_url(device), {**data, "project": "Eagle", "_save": "Save"})

        device.refresh_from_db()
        assert (device.project, device.location) == ("Eagle", shelf)

    def test_the_page_shows_custody_as_text_and_offers_the_move_button(self):
        device = DeviceFactory()
        response = client_for(SupervisorFactory()).get(change_url(device))

        form = response.context["adminform"].form
        assert "location" not in form.fields and "holder" not in form.fields
        assert "serial_number" not in form.fields
        assert move_url(device) in response.content.decode()

    def test_staff_read_the_page_and_are_offered_the_move_button(self):
        device = DeviceFactory()
        response = client_for(StaffFactory()).get(change_url(device))

        assert response.context["has_change_permission"] is False
        assert move_url(device) in response.content.decode()

    def test_registering_a_device_places_it_with_its_first_trail_entry(self):
        shelf, holder, staff = LocationFactory(), StaffFactory(), StaffFactory()
        client = client_for(staff)

        response = client.post(
            reverse("admin:locations_device_add"),
            {
                "serial_number": "SN-NEW-1",
                "location": shelf.pk,
                "holder": holder.pk,
                "incidents-TOTAL_FORMS": "0",
                "incidents-INITIAL_FORMS": "0",
            },
        )

        assert response.status_code == 302
        device = Device.objects.get(serial_number="SN-NEW-1")
        assert (device.location, device.holder) == (shelf, holder)
        [entry] = device_trail(device)
        assert (entry.to_location, entry.to_holder, entry.by) == (shelf, holder, staff)


class DeviceMoveFormTests:
    def test_staff_move_a_device_with_a_reason_kept_in_the_trail(self):
        staff, device, bench, colleague = (
            StaffFactory(),
            DeviceFactory(),
            LocationFactory(),
            StaffFactory(),
        )
        start = device.location

        response = client_for(staff).post(
            move_url(device), {"location": bench.pk, "holder": colleague.pk, "reason": "Retest"}
        )

        assert response.status_code == 302
        assert response.url == change_url(device)
        device.refresh_from_db()
        assert (device.location, device.holder) == (bench, colleague)
        newest = device_trail(device)[0]
        assert (newest.from_location, newest.to_location) == (start, bench)
        assert (newest.to_holder, newest.by, newest.reason) == (colleague, staff, "Retest")

    def test_an_empty_holder_keeps_the_holder_and_the_form_says_so(self):
        keeper = StaffFactory(display_name="Li Lei")
        device, bench = DeviceFactory(holder=keeper), LocationFactory()
        client = client_for(StaffFactory())

        page = client.get(move_url(device)).content.decode()
        client.post(move_url(device), {"location": bench.pk, "holder": "", "reason": "Shelved"})

        assert "Leave empty to keep Li Lei as its holder." in page
        device.refresh_from_db()
        assert (device.location, device.holder) == (bench, keeper)

    def test_a_move_needs_a_reason(self):
        device, bench = DeviceFactory(), LocationFactory()
        start = device.location

        response = client_for(StaffFactory()).post(
            move_url(device), {"location": bench.pk, "holder": "", "reason": ""}
        )

        assert response.status_code == 200
        assert response.context["form"].errors["reason"]
        device.refresh_from_db()
        assert device.location == start

    def test_a_move_that_changes_nothing_is_refused_saying_why(self):
        device = DeviceFactory()

        response = client_for(StaffFactory()).post(
            move_url(device), {"location": device.location.pk, "holder": "", "reason": "Again"}
        )

        assert response.status_code == 200
        assert "already there with that holder" in response.content.decode()
        assert len(device_trail(device)) == 1

    def test_someone_who_may_not_move_devices_is_refused(self):
        reader = EmployeeFactory()
        reader.user_permissions.add(
            Permission.objects.get(codename="view_device", content_type__app_label="locations")
        )
        device, bench = DeviceFactory(), LocationFactory()
        client = client_for(reader)

        page = client.get(change_url(device))
        get = client.get(move_url(device))
        post = client.post(move_url(device), {"location": bench.pk, "reason": "Mine now"})

        assert page.status_code == 200 and move_url(device) not in page.content.decode()
        assert (get.status_code, post.status_code) == (403, 403)
        device.refresh_from_db()
        assert device.location != bench


class ListFilterTests:
    """The device list's project and hardware filters offer what a distinct over the devices
    would, read by stepping through an index; a place's parent is typed for, not listed."""

    def kinds(self, user) -> tuple[dict, list[str]]:
        with CaptureQueriesContext(connection) as queries:
            response = client_for(user).get(reverse("admin:locations_device_changelist"))
        offered = {
            spec.field_path: list(spec.lookup_choices)
            for spec in response.context["cl"].filter_specs
            if isinstance(spec, DeviceKindFilter)
        }
        walks = [q["sql"] for q in queries.captured_queries if "WITH RECURSIVE" in q["sql"]]
        return offered, walks

    def test_the_filters_offer_every_project_and_hardware_version_once(self):
        kinds = [("Falcon", "EVT"), ("Falcon", "DVT"), ("gannet", "EVT"), ("Gannet", "")]
        for project, version in [*kinds, *kinds, ("Heron", "PVT")]:
            DeviceFactory(project=project, hardware_version=version)

        offered, walks = self.kinds(SuperuserFactory())

        assert offered == {
            "project": sorted({"Falcon", "gannet", "Gannet", "Heron"}),
            "hardware_version": ["", "DVT", "EVT", "PVT"],
        }
        assert len(walks) == 1  # one walk serves both filters

    def test_a_restricted_project_and_its_versions_are_not_offered_to_outsiders(self):
        DeviceFactory(project="Falcon", hardware_version="DVT")
        DeviceFactory(project="Gannet", hardware_version="EVT")
        ProjectAccess.objects.create(project="FALCON")
        outsider = StaffFactory()

        offered, _ = self.kinds(outsider)

        assert offered == {"project": ["Gannet"], "hardware_version": ["EVT"]}
        assert self.kinds(SuperuserFactory())[0]["project"] == ["Falcon", "Gannet"]

    def test_a_project_filter_lists_that_projects_devices(self):
        falcon = DeviceFactory(project="Falcon")
        DeviceFactory(project="Gannet")

        response = client_for(SuperuserFactory()).get(
            reverse("admin:locations_device_changelist"), {"project": "Falcon"}
        )

        assert list(response.context["cl"].result_list) == [falcon]

    def test_the_parent_of_a_place_is_typed_for_and_filters_the_list(self):
        building = LocationFactory(code="BLD-1")
        rooms = [LocationFactory(parent=building), LocationFactory(parent=building)]
        LocationFactory.create_batch(3)
        client = client_for(SuperuserFactory())

        page = client.get(reverse(LOCATIONS))
        chosen = client.get(reverse(LOCATIONS), {"parent__id__exact": building.pk})

        (parent,) = [s for s in page.context["cl"].filter_specs if s.field_path == "parent"]
        assert isinstance(parent, AutocompleteSelectFilter)
        assert page.content.decode().count("<option") < Location.objects.count()
        assert set(chosen.context["cl"].result_list) == set(rooms)


class PagedDevicesTests:
    def test_a_place_with_more_devices_than_a_page_is_saved_from_any_page(self):
        shelf = LocationFactory(name="Shelf")
        for _ in range(25):
            DeviceFactory(location=shelf)
        client = client_for(SuperuserFactory())
        url = reverse("admin:locations_location_change", args=[shelf.pk])
        page = client.get(url)
        prefix = page.context["inline_admin_formsets"][0].formset.prefix

        second = client.get(f"{url}?{prefix}-page=2").content.decode()
        data = form_data(second, form_id="location_form")
        data["name"] = "Shelf, renamed"
        saved = client.post(url, data)

        assert saved.status_code == 302, saved.context and saved.context["errors"]
        shelf.refresh_from_db()
        assert shelf.name == "Shelf, renamed"
        assert shelf.devices.count() == 25
