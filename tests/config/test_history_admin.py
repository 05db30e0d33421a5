"""History pages only show: a past version of an incident, problem group, device or location is
displayed read-only to people who may view the record, and nothing posted to the page is ever
saved, whoever posts it."""

import re
from datetime import UTC, datetime

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import translation
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import DeletedObject

from config.kit.history_admin import ReadOnlyHistoryAdmin, readable_value
from incidents.choices import Stage
from incidents.models import Employee, Incident, IncidentEvent, ProblemGroup
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
from tests.incidents.test_workflow import (
    assigned,
    build_team,
    open_incident,
    snapshot,
    walk_stage,
)

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


# --- what a history page says ---------------------------------------------------------------------
def changes_of(page: str) -> list[str]:
    """The text of each row's "Changes" cell of a history list, tags and spacing removed."""
    cells = re.findall(r'data-label="[^"]*">\s*(<ul>.*?</ul>)\s*</td>', page, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip() for cell in cells]


@pytest.fixture
def moved_on():
    """An incident approved out of the line's stage into FAE retest, whose stage time carries
    microseconds."""
    team = build_team()
    incident = walk_stage(open_incident(team), team)
    Incident.objects.filter(pk=incident.pk).update(
        stage_entered_at=datetime(2026, 3, 4, 2, 22, 5, 123456, tzinfo=UTC)
    )
    incident.refresh_from_db()
    incident._history_user = team.admin
    incident.save(update_fields=["stage_entered_at"])
    return team, incident


def history_page(user, incident, language: str) -> str:
    user.language = language
    user.save(update_fields=["language"])
    response = client_for(user).get(reverse("admin:incidents_incident_history", args=[incident.pk]))
    assert response.status_code == 200
    return response.content.decode()


class HistoryWordsTests:
    @pytest.mark.parametrize(
        ("language", "said"),
        [
            (
                "en",
                [
                    "Stage: Reported by production arrow_right_alt FAE retest",
                    "Step: Waiting for review arrow_right_alt Waiting for assignment",
                    "arrow_right_alt 4 Mar 2026 10:22:05",
                ],
            ),
            (
                "zh-hans",
                [
                    "节点: 产线上报 arrow_right_alt FAE复测",
                    "arrow_right_alt 2026年3月4日 10:22:05",
                ],
            ),
        ],
    )
    def test_stages_steps_and_times_read_in_words_in_the_factorys_zone(
        self, moved_on, language, said
    ):
        team, incident = moved_on

        changes = " | ".join(changes_of(history_page(team.admin, incident, language)))

        for words in said:
            assert words in changes, (words, changes)
        assert not re.search(r"\b(reported|fae_retest|unassigned|submitted)\b", changes)
        assert not re.search(r"\d:\d\d\.\d", changes) and "+00:00" not in changes

    @pytest.mark.parametrize("language", ["en", "zh-hans"])
    def test_an_assignee_that_was_not_set_reads_as_empty(self, moved_on, language):
        team, incident = moved_on
        worker = str(team.worker(Stage.REPORTED))

        page = history_page(team.admin, incident, language)

        changes = changes_of(page)
        assert "pk=None" not in page and "Deleted" not in page and "已删除" not in page
        assigned_row = [row for row in changes if f"— arrow_right_alt {worker}" in row]
        moved_row = [row for row in changes if f"{worker} arrow_right_alt —" in row]
        assert assigned_row and moved_row, changes


class ReadableValueTests:
    def test_each_kind_of_value_reads_as_a_person_says_it(self):
        fields = {field.name: field for field in Incident._meta.fields}

        assert readable_value(fields["assignee"], DeletedObject(Employee, None)) == "—"
        assert readable_value(fields["assignee"], None) == "—"
        assert readable_value(fields["description"], "") == "—"
        assert "pk=7" in str(readable_value(fields["assignee"], DeletedObject(Employee, 7)))
        with translation.override("zh-hans"):
            assert str(readable_value(fields["assignee"], DeletedObject(Employee, 7))) == (
                "已删除的员工 (pk=7)"
            )
            assert readable_value(fields["stage"], Stage.XRAY.value) == "X光检测"
        assert readable_value(fields["stage"], Stage.XRAY.value) == "X-ray inspection"
        assert readable_value(fields["stage"], "no_such_stage") == "no_such_stage"
        moment = datetime(2026, 12, 31, 16, 30, 59, 999999, tzinfo=UTC)
        assert readable_value(fields["opened_at"], moment) == "1 Jan 2027 00:30:59"
        assert readable_value(fields["opened_at"], datetime(1, 1, 1, 0, 0)) == "1 Jan 0001 00:00:00"


# --- ids in a history address ---------------------------------------------------------------------
class HostileIdTests:
    """A version id or a record id no key can be ("abc", a number above 2^63, a lone surrogate)
    names no page: 404, never a server error."""

    @pytest.mark.parametrize("version", ["abc", "99999999999999999999999", "9223372036854775808"])
    def test_a_version_id_that_no_version_has_is_not_found(self, version):
        location = renamed_location()
        url = version_url(location, 1).replace("/history/1/", f"/history/{version}/")

        response = client_for(StaffFactory()).get(url)

        assert response.status_code == 404

    @pytest.mark.parametrize("record", ["abc", "%ED%A0%80", "x" * 300])
    @pytest.mark.parametrize("page", ["history/", "history/1/"])
    def test_a_record_id_that_no_record_has_is_not_found(self, record, page):
        client = client_for(StaffFactory())
        client.raise_request_exception = False

        response = client.get(f"/admin/locations/location/{record}/{page}")

        assert response.status_code == 404
