"""History pages only show: a past version of an incident, problem group, device or location is
displayed read-only to people who may view the record, and nothing posted to the page is ever
saved, whoever posts it."""

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin

from config.history_admin import ReadOnlyHistoryAdmin
from incidents.choices import Stage
from incidents.models import Incident, IncidentEvent, ProblemGroup
from locations.models import Device, Location
from locations.services import device_update, location_update
from tests.factories import (
    DeviceFactory,
    EmployeeFactory,
    LocationFactory,
    ProblemGroupFactory,
    StaffFactory,
    SuperuserFactory,
)
from tests.incidents.test_workflow import assigned, build_team, snapshot

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def version_url(obj, history_id: int) -> str:
    opts = obj._meta
    return reverse(
        f"admin:{opts.app_label}_{opts.model_name}_simple_history", args=[obj.pk, history_id]
    )


def oldest_version(obj) -> int:
    return obj.history.order_by("history_date", "history_id").first().history_id


def renamed_location() -> Location:
    """A location with two versions: created as "Old shelf", renamed "New shelf"."""
    location = LocationFactory(name="Old shelf")
    return location_update(location=location, name="New shelf")


def assigned_incident() -> Incident:
    """An incident whose first version is unassigned and whose current one is assigned."""
    return assigned(build_team(), Stage.FAE_RETEST)


def changed_device() -> Device:
    device = DeviceFactory(project="Falcon")
    return device_update(device=device, project="Eagle")


def retitled_group() -> ProblemGroup:
    group = ProblemGroupFactory(title="First title")
    group.title = "Second title"
    group.save()
    return group


# Each model with history pages: a record with an older version, and what a revert would post.
RECORDS = {
    "incident": (assigned_incident, {"description": "Rewritten", "problem_group": ""}),
    "problem group": (
        retitled_group,
        {"number": "BUG-2099-0001", "title": "Hacked", "status": "closed"},
    ),
    "device": (
        changed_device,
        {"serial_number": "HACKED", "project": "Hacked", "move_reason": ""},
    ),
    "location": (renamed_location, {"code": "HACKED", "name": "Hacked", "kind": "area"}),
}


def state(obj) -> dict:
    """The record's columns and its number of history rows, read fresh from the database."""
    fresh = type(obj).objects.get(pk=obj.pk)
    columns = {field.attname: getattr(fresh, field.attname) for field in obj._meta.concrete_fields}
    return {**columns, "versions": fresh.history.count()}


class RegistryTests:
    def test_every_admin_with_history_pages_keeps_them_read_only(self):
        with_history = [
            type(model_admin).__name__
            for model_admin in admin.site._registry.values()
            if isinstance(model_admin, SimpleHistoryAdmin)
        ]
        writable = [
            type(model_admin).__name__
            for model_admin in admin.site._registry.values()
            if isinstance(model_admin, SimpleHistoryAdmin)
            and not isinstance(model_admin, ReadOnlyHistoryAdmin)
        ]

        assert sorted(with_history) == [
            "DeviceAdmin",
            "IncidentAdmin",
            "LocationAdmin",
            "ProblemGroupAdmin",
        ]
        assert writable == []


class PostingToAVersionTests:
    @pytest.mark.parametrize("kind", RECORDS)
    def test_a_superuser_posting_a_past_version_is_refused_and_nothing_changes(self, kind):
        make, data = RECORDS[kind]
        obj = make()
        before = state(obj)

        response = client_for(SuperuserFactory()).post(
            version_url(obj, oldest_version(obj)), {**data, "_save": "Revert"}
        )

        assert response.status_code == 405
        assert state(obj) == before

    def test_staff_who_may_only_view_locations_cannot_rename_one_through_its_history(self):
        location = renamed_location()
        staff = StaffFactory()
        assert staff.has_perm("locations.view_location")
        assert not staff.has_perm("locations.change_location")

        response = client_for(staff).post(
            version_url(location, oldest_version(location)),
            {"code": "HACKED", "name": "Hacked", "kind": "area"},
        )

        location.refresh_from_db()
        assert response.status_code == 405
        assert (location.code, location.name, location.is_active) != ("HACKED", "Hacked", False)
        assert location.name == "New shelf" and location.is_active

    def test_an_old_assignee_and_round_are_not_written_back_to_an_incident(self):
        incident = assigned_incident()
        before = snapshot(incident)
        events = IncidentEvent.objects.filter(incident=incident).count()

        response = client_for(SuperuserFactory()).post(
            version_url(incident, oldest_version(incident)),
            {"description": "Rewritten", "problem_group": "", "_save": "Revert"},
        )

        assert response.status_code == 405
        assert snapshot(incident) == before
        assert Incident.objects.get(pk=incident.pk).description != "Rewritten"
        assert IncidentEvent.objects.filter(incident=incident).count() == events

    @pytest.mark.parametrize("method", ["put", "patch", "delete"])
    def test_other_writing_methods_are_refused_too(self, method):
        location = renamed_location()

        response = getattr(client_for(SuperuserFactory()), method)(
            version_url(location, oldest_version(location))
        )

        assert response.status_code == 405
        assert Location.objects.get(pk=location.pk).name == "New shelf"


class ViewingAVersionTests:
    def test_staff_who_may_view_see_the_past_version_as_text_without_a_revert_button(self):
        location = renamed_location()

        response = client_for(StaffFactory()).get(version_url(location, oldest_version(location)))

        page = response.content.decode()
        assert response.status_code == 200
        assert "Old shelf" in page
        assert 'name="name"' not in page and 'name="code"' not in page
        assert "Revert" not in page

    @pytest.mark.parametrize("kind", RECORDS)
    def test_a_superuser_sees_each_kind_of_version_read_only(self, kind):
        make, data = RECORDS[kind]
        obj = make()

        response = client_for(SuperuserFactory()).get(version_url(obj, oldest_version(obj)))

        page = response.content.decode()
        assert response.status_code == 200
        assert all(f'name="{field}"' not in page for field in data)
        assert "Revert" not in page

    def test_someone_without_view_permission_is_refused(self):
        location = renamed_location()

        response = client_for(EmployeeFactory()).get(
            version_url(location, oldest_version(location))
        )

        assert response.status_code == 403

    def test_the_history_list_says_view_not_change(self):
        location = renamed_location()

        response = client_for(SuperuserFactory()).get(
            reverse("admin:locations_location_history", args=[location.pk])
        )

        assert response.status_code == 200
        assert response.context["revert_disabled"] is True
        assert str(response.context["title"]).startswith("View history")
