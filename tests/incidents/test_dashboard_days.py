"""The stamps of the days the dashboard's parts are kept under (incidents.models.DashboardDay):
every writer of incidents, their timelines and their devices draws a new stamp for the days it
touches, so the next view counts those days again and shows the change, and only those days;
a viewer outside a restricted project never sees it through them."""

# The fixtures of the kept parts' tests are taken as they are (pytest names them as arguments).
# ruff: noqa: F811

import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from config.kit.bulk import objects_create
from incidents.choices import OPEN_STAGES, TERMINAL_STAGES, Stage
from incidents.dashboard import Scope, counted, every_figure
from incidents.models import DashboardDay, Department, Incident
from incidents.services.workflow import incident_build, incident_cancel
from locations.models import Device
from locations.services import device_update
from tests.factories import AdminFactory, DeviceFactory, SupervisorFactory
from tests.incidents.test_dashboard_periods import (  # noqa: F401
    history,
    keeping,
    normalised,
)

pytestmark = pytest.mark.django_db

VERSION = ("version", 1)


def stamp_of(incident: Incident) -> int | None:
    day = incident.opened_at.astimezone(datetime.UTC).date()
    return DashboardDay.objects.filter(day=day).values_list("stamp", flat=True).first()


def scopes(viewer) -> list[Scope]:
    """The dashboard as it opens (every day since the first incident) and a period with a
    start, for `viewer`."""
    start = (timezone.localdate() - datetime.timedelta(days=70)).isoformat()
    return [Scope.from_params({}, viewer), Scope.from_params({"opened_from": start}, viewer)]


def assert_counted_as_at_once(scope: Scope) -> dict:
    figures = counted(scope, True, VERSION).figures
    assert normalised(figures) == normalised(every_figure(scope, True))
    return figures


def assert_each_counted_as_at_once(viewer) -> dict:
    """The dashboard of `viewer` as it opens and over a period, each as counted at once; the
    figures of the first."""
    opening, period = scopes(viewer)
    assert_counted_as_at_once(period)
    return assert_counted_as_at_once(opening)


def an_open_incident(**kw) -> Incident:
    found = Incident.objects.filter(stage__in=OPEN_STAGES, **kw).order_by("-opened_at").first()
    assert found is not None, kw
    return found


class StampTests:
    def test_a_workflow_step_draws_a_new_stamp_for_its_incidents_day_only(self, history):
        administrator = AdminFactory()
        victim = an_open_incident()
        day = victim.opened_at.astimezone(datetime.UTC).date()
        other = next(
            incident
            for incident in Incident.objects.order_by("opened_at")
            if incident.opened_at.astimezone(datetime.UTC).date() != day
        )
        before, untouched = stamp_of(victim), stamp_of(other)

        incident_cancel(incident=victim, by=administrator, reason="Duplicate report")

        assert stamp_of(victim) not in (None, before)
        assert stamp_of(other) == untouched

    def test_a_device_moved_or_given_to_another_project_stamps_its_incidents_days(self, history):
        victim = an_open_incident()
        before = stamp_of(victim)

        Device.objects.filter(pk=victim.device_id).update(project="Heron")

        assert stamp_of(victim) != before
        moved = stamp_of(victim)
        Device.objects.filter(pk=victim.device_id).update(serial_number="RENAMED-1")
        assert stamp_of(victim) == moved


class NextViewTests:
    """After each kind of change, the next view's figures are those counted at once, and
    differ from before: the change shows."""

    def test_a_workflow_step_shows_in_the_next_view(self, keeping, history):
        administrator = AdminFactory()
        for scope in scopes(administrator):
            assert_counted_as_at_once(scope)
        before = counted(scopes(administrator)[0], True, VERSION).figures

        incident_cancel(incident=an_open_incident(), by=administrator, reason="Duplicate report")

        after = assert_each_counted_as_at_once(administrator)
        assert sum(after["by_stage_step"].values()) == sum(before["by_stage_step"].values()) - 1

    def test_an_imported_incident_shows_in_the_next_view(self, keeping, history):
        administrator = AdminFactory()
        before = assert_counted_as_at_once(scopes(administrator)[0])
        opened = timezone.now() - datetime.timedelta(days=2)

        with transaction.atomic():
            objects_create(
                Incident,
                [
                    incident_build(
                        device=DeviceFactory(project="Falcon"),
                        reporter=None,
                        opened_at=opened,
                        fail_station="ST9",
                        fail_item="NEW_ITEM",
                    )
                ],
            )

        after = assert_each_counted_as_at_once(administrator)
        assert sum(after["by_stage_step"].values()) == sum(before["by_stage_step"].values()) + 1
        assert "NEW_ITEM" in [row["value"] for row in after["pareto_items"]]

    def test_a_deleted_incident_leaves_the_next_view(self, keeping, history):
        administrator = AdminFactory()
        before = assert_counted_as_at_once(scopes(administrator)[0])
        # One whose visits have not ended: the figures counted at once still read the visits
        # of a deleted incident's timeline (it outlives the incident), the parts do not.
        victim = Incident.objects.filter(stage=Stage.REPORTED).first()

        victim.delete()

        after = assert_each_counted_as_at_once(administrator)
        assert sum(after["by_stage_step"].values()) == sum(before["by_stage_step"].values()) - 1

    def test_a_device_given_to_a_restricted_project_leaves_an_outsiders_next_view(
        self, keeping, history
    ):
        outsider = SupervisorFactory(department=Department.objects.get(code="FAE"))
        insider = SupervisorFactory(department=history["xray"])
        before = assert_counted_as_at_once(scopes(outsider)[0])
        seen_inside = assert_counted_as_at_once(scopes(insider)[0])
        victim = an_open_incident(device__project="Falcon")

        device_update(device=victim.device, by=AdminFactory(), project="Condor")

        for viewer in (outsider, insider):
            for scope in scopes(viewer):
                assert_counted_as_at_once(scope)
        after = counted(scopes(outsider)[0], True, VERSION).figures
        inside = counted(scopes(insider)[0], True, VERSION).figures
        assert sum(after["by_stage_step"].values()) == sum(before["by_stage_step"].values()) - 1
        assert inside["by_stage_step"] == seen_inside["by_stage_step"]

    def test_an_incident_moved_to_another_projects_device_shows_in_each_projects_view(
        self, keeping, history
    ):
        administrator = AdminFactory()
        projects = {
            project: Scope.from_params({"project": project}, administrator)
            for project in ("Falcon", "Heron")
        }
        before = {name: assert_counted_as_at_once(scope) for name, scope in projects.items()}
        victim = an_open_incident(device__project="Falcon")

        Incident.objects.filter(pk=victim.pk).update(device=DeviceFactory(project="Heron"))

        after = {name: assert_counted_as_at_once(scope) for name, scope in projects.items()}
        for name, change in (("Falcon", -1), ("Heron", 1)):
            assert sum(after[name]["by_stage_step"].values()) == (
                sum(before[name]["by_stage_step"].values()) + change
            )

    def test_a_restricted_viewers_figures_stay_restricted_after_a_change(self, keeping, history):
        outsider = SupervisorFactory(department=Department.objects.get(code="FAE"))
        administrator = AdminFactory()
        for scope in scopes(administrator):
            counted(scope, True, VERSION)
        condor = an_open_incident(device__project="Condor")

        incident_cancel(incident=condor, by=administrator, reason="Duplicate report")

        for scope in scopes(outsider):
            figures = assert_counted_as_at_once(scope)
            assert condor.pk not in [incident.pk for incident in figures["oldest"]]
        everyone = counted(scopes(administrator)[0], True, VERSION).figures
        outside = counted(scopes(outsider)[0], True, VERSION).figures
        assert normalised(everyone) != normalised(outside)

    def test_a_closed_incident_is_in_no_open_figure_of_the_next_view(self, keeping, history):
        administrator = AdminFactory()
        closed_before = Incident.objects.filter(stage__in=TERMINAL_STAGES).count()
        incident_cancel(incident=an_open_incident(), by=administrator, reason="Duplicate report")

        figures = assert_counted_as_at_once(scopes(administrator)[0])

        assert Incident.objects.filter(stage__in=TERMINAL_STAGES).count() == closed_before + 1
        assert (
            sum(figures["by_stage_step"].values())
            == Incident.objects.filter(stage__in=OPEN_STAGES).count()
        )


class HeatMapSizeTests:
    def test_the_heat_map_shows_the_places_holding_most_devices_at_each_level(self, db):
        from incidents.dashboard.figures import PLACES_CHILDREN, PLACES_SIZE, places_of
        from tests.factories import LocationFactory

        buildings = [LocationFactory(code=f"B{n}", parent=None) for n in range(6)]
        shelves = {
            LocationFactory(code=f"B{b}-S{n:02d}", parent=building).pk: n + 1 + b
            for b, building in enumerate(buildings)
            for n in range(10)
        }

        rows = places_of(shelves)

        assert len(rows) == PLACES_SIZE < 6 * (1 + PLACES_CHILDREN)
        assert (rows[0]["location"].code, rows[0]["count"]) == ("B5", sum(range(6, 16)))
        under_first = rows[1 : 1 + PLACES_CHILDREN]
        assert [row["count"] for row in under_first] == [15, 14, 13, 12, 11, 10]
        assert all(row["depth"] == 1 for row in under_first)
        assert rows[1 + PLACES_CHILDREN]["location"].code == "B4"


class DepartmentLoadSizeTests:
    def test_a_large_department_lists_its_most_loaded_people_and_how_many_more(self, db):
        from django.test import Client

        from incidents.dashboard.home import LOAD_SIZE
        from tests.factories import IncidentFactory, StaffFactory

        fae = Department.objects.get(code="FAE")
        supervisor = SupervisorFactory(department=fae)
        fae.supervisors.add(supervisor)
        people = [StaffFactory(department=fae) for _ in range(LOAD_SIZE + 3)]
        for n, person in enumerate(people[:3]):
            for _ in range(n + 1):
                IncidentFactory(stage=Stage.FAE_RETEST, assignee=person)
        client = Client()
        client.force_login(supervisor)

        page = client.get("/admin/")

        entry = next(
            entry for entry in page.context["home"]["departments"] if entry["department"] == fae
        )
        members = fae.employees.filter(is_active=True).count()
        assert len(entry["load"]) == LOAD_SIZE
        assert entry["others"] == members - LOAD_SIZE > 0
        assert [row["count"] for row in entry["load"][:4]] == [3, 2, 1, 0]
        assert entry["load"][0]["person"] == people[2]
        assert 'data-testid="department-load-others"' in page.content.decode()
