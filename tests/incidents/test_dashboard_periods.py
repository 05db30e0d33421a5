"""A period with a start is put together from kept parts (incidents.dashboard.periods): its
figures are those counted at once for any period, across the parts' edges; a changed date counts
only the parts it adds; parts are shared only by people who see the same projects; and a change
counts them again."""

import datetime
import random
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.choices import TERMINAL_STAGES, Stage, Step, WorkflowAction
from incidents.dashboard import Scope, counted, every_figure
from incidents.dashboard.periods import parts_of
from incidents.models import Department, Incident, IncidentEvent, ProjectAccess
from incidents.services.workflow import incident_cancel, visit_ends_write
from tests.factories import (
    AdminFactory,
    DeviceFactory,
    IncidentFactory,
    LocationFactory,
    ProblemGroupFactory,
    SupervisorFactory,
)
from tests.workers import clear_cache

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
WALKS = (
    [Stage.FAE_RETEST, Stage.RETURNED],
    [Stage.FAE_RETEST, Stage.XRAY, Stage.SCRAPPED],
    [Stage.FAE_RETEST, Stage.XRAY, Stage.EE_ANALYSIS, Stage.FINAL_RETEST, Stage.RETURNED],
    [Stage.CANCELLED],
    [Stage.FAE_RETEST, Stage.XRAY],
    [Stage.FAE_RETEST],
    [],
)


@pytest.fixture
def keeping(settings):
    settings.DASHBOARD_FIGURES_SECONDS = 120
    clear_cache()
    yield settings
    clear_cache()


def month_start(months_ago: int) -> datetime.date:
    day = timezone.localdate().replace(day=1)
    for _ in range(months_ago):
        day = (day - DAY).replace(day=1)
    return day


def local(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def incident_walked(rng, opened: datetime.datetime, **kw) -> Incident:
    """An incident opened at `opened` that walked through one of WALKS, a few hours to a week
    per stage, as far as now allows."""
    now = timezone.now()
    walk, at = [(Stage.REPORTED, opened)], opened
    for stage in rng.choice(WALKS):
        at += datetime.timedelta(hours=rng.choice([0.5, 3, 20, 47, 90, 170]) + rng.random())
        if at > now - datetime.timedelta(minutes=5):
            break
        walk.append((stage, at))
    stage, entered = walk[-1]
    closed = stage in TERMINAL_STAGES
    incident = IncidentFactory(
        stage=stage,
        step=Step.CLOSED if closed else rng.choice([Step.UNASSIGNED, Step.SUBMITTED]),
        opened_at=opened,
        stage_entered_at=entered,
        closed_at=entered if closed else None,
        **kw,
    )
    previous = Stage.REPORTED
    for n, (stage, at) in enumerate(walk):
        IncidentEvent.objects.create(
            incident=incident,
            action=WorkflowAction.APPROVE if n else WorkflowAction.OPEN,
            from_stage=previous,
            to_stage=stage,
            created_at=at,
        )
        previous = stage
    return incident


@pytest.fixture
def history(db):
    """Some 60 incidents opened over four months, many at the edges of days and months (just
    before and after midnight, the last and first days of months), in two projects (Condor
    restricted to X-ray), at three places, some in problem groups, each walked through the
    workflow as far as now allows."""
    rng = random.Random(24)
    building = LocationFactory(code="B1", parent=None)
    places = [building, LocationFactory(code="S1", parent=building), LocationFactory(code="B2")]
    groups = [ProblemGroupFactory(), ProblemGroupFactory(), None, None]
    first = month_start(4)
    days = []
    for months in range(4, 0, -1):
        start = month_start(months)
        end = month_start(months - 1) - DAY
        days += [start - DAY, start, start + 9 * DAY, end - DAY, end]
    days += [timezone.localdate() - 3 * DAY, timezone.localdate()]
    made = []
    for n, day in enumerate(sorted(set(days))):
        for hour, minute in ((0, 5), (11, 30), (23, 50)):
            opened = local(day, hour, minute)
            if opened > timezone.now() - datetime.timedelta(hours=1):
                continue
            made.append(
                incident_walked(
                    rng,
                    opened,
                    device=DeviceFactory(
                        project="Condor" if (n + hour) % 4 == 0 else "Falcon",
                        location=rng.choice(places),
                    ),
                    fail_item=rng.choice(["BT_RSSI", "CAM_AF", "WIFI_TX", ""]),
                    fail_station=rng.choice(["ST1", "ST3", ""]),
                    problem_group=rng.choice(groups),
                )
            )
    visit_ends_write([incident.pk for incident in made])
    xray = Department.objects.get(code="XRAY")
    ProjectAccess.objects.create(project="Condor").departments.add(xray)
    return {"first": first, "incidents": made, "xray": xray}


def normalised(figures: dict) -> dict:
    """The figures with objects as their keys and words as text, to compare."""

    def plain(value):
        if isinstance(value, dict):
            return {plain(key): plain(item) for key, item in value.items()}
        if isinstance(value, tuple):
            return tuple(plain(item) for item in value)
        if isinstance(value, list):
            return [plain(item) for item in value]
        if hasattr(value, "_meta"):
            return (value._meta.label, value.pk)
        if hasattr(value, "_proxy____cast"):
            return str(value)
        return value

    result = plain(figures)
    result["problem_groups"] = [
        (group.pk, group.incident_count, group.open_count)
        for group in figures["problem_groups"] or []
    ]
    return result


def periods(first: datetime.date) -> list[tuple[str, str]]:
    second, third = month_start(3), month_start(2)
    today = timezone.localdate()
    return [
        (first.isoformat(), (third - DAY).isoformat()),  # two whole months
        ((first + 9 * DAY).isoformat(), (third + 9 * DAY).isoformat()),  # days, a month, days
        ((first + 10 * DAY).isoformat(), (third + 9 * DAY).isoformat()),  # its start moved
        ((first + 9 * DAY).isoformat(), (third + 11 * DAY).isoformat()),  # its end moved
        ((second - DAY).isoformat(), second.isoformat()),  # the two days around a month's edge
        ((second - DAY).isoformat(), (second - DAY).isoformat()),  # one day
        (second.isoformat(), ""),  # no end: up to today and after
        ((first - DAY).isoformat(), (today + 40 * DAY).isoformat()),  # into the future
        (first.isoformat(), today.isoformat()),
    ]


class PeriodPartTests:
    def test_parts_are_whole_months_and_days_at_the_edges(self):
        day = datetime.date

        assert parts_of(day(2025, 1, 30), day(2025, 3, 2), day(2025, 6, 1)) == [
            (day(2025, 1, 30), day(2025, 1, 31)),
            (day(2025, 1, 31), day(2025, 2, 1)),
            (day(2025, 2, 1), day(2025, 3, 1)),
            (day(2025, 3, 1), day(2025, 3, 2)),
            (day(2025, 3, 2), day(2025, 3, 3)),
        ]
        assert parts_of(day(2025, 5, 1), None, day(2025, 5, 31)) == [
            (day(2025, 5, 1), day(2025, 6, 1)),
            (day(2025, 6, 1), None),
        ]
        assert parts_of(day(2025, 12, 1), day(2025, 12, 31), day(2025, 1, 1)) == [
            (day(2025, 12, 1), day(2026, 1, 1))
        ]

    def test_a_period_starting_after_today_without_an_end_is_one_part(self):
        day = datetime.date

        assert parts_of(day(2025, 7, 1), None, day(2025, 6, 1)) == [(day(2025, 7, 1), None)]


class SameFiguresTests:
    """Every period (its parts counted afresh or kept from an earlier one) has the figures the
    database counts for it at once."""

    @pytest.mark.parametrize("who", ["administrator", "outsider", "insider"])
    @pytest.mark.parametrize("narrowed", [{}, {"project": "Falcon"}, {"department": "xray"}])
    def test_every_period_has_the_figures_counted_at_once(self, keeping, history, who, narrowed):
        xray = history["xray"]
        viewer = {
            "administrator": AdminFactory,
            "outsider": lambda: SupervisorFactory(department=Department.objects.get(code="FAE")),
            "insider": lambda: SupervisorFactory(department=xray),
        }[who]()
        if narrowed.get("department"):
            narrowed = {"department": str(xray.pk)}
        for opened_from, opened_to in periods(history["first"]):
            scope = Scope.from_params(
                {**narrowed, "opened_from": opened_from, "opened_to": opened_to}, viewer
            )
            assert not scope.notices

            assembled = counted(scope, True, ("version", 1))

            assert normalised(assembled.figures) == normalised(every_figure(scope, True)), (
                opened_from,
                opened_to,
            )

    def test_the_history_has_figures_on_both_sides_of_every_edge(self, keeping, history):
        """The comparison above is about something: the periods count open incidents, visits,
        closings and failures, and a restricted project changes them."""
        administrator = AdminFactory()
        outsider = SupervisorFactory(department=Department.objects.get(code="FAE"))
        opened_from, opened_to = periods(history["first"])[1]
        params = {"opened_from": opened_from, "opened_to": opened_to}

        seen = every_figure(Scope.from_params(params, administrator), True)
        hidden = every_figure(Scope.from_params(params, outsider), True)

        assert seen["by_stage_step"] and seen["weeks"] and seen["pareto_items"]
        assert any(row["count"] for row in seen["cycle"])
        assert any(row["count"] for row in seen["end_to_end"])
        assert seen["problem_groups"] and seen["places"]
        assert any(row["nff"] for row in seen["false_fails"])
        assert normalised(seen) != normalised(hidden)

    def test_a_period_without_a_start_has_the_figures_counted_at_once(self, keeping, history):
        scope = Scope.from_params({"opened_to": timezone.localdate().isoformat()}, AdminFactory())

        assembled = counted(scope, True, ("version", 1))

        assert normalised(assembled.figures) == normalised(every_figure(scope, True))


def dashboard_client(user) -> Client:
    client = Client()
    client.force_login(user)
    client.get("/admin/")  # the person's own first-view queries (session, permissions)
    return client


def figure(page, name: str) -> int:
    html = page.content.decode()
    match = re.search(rf'data-figure="{name}"[^>]*>(.*?)</a>', html, re.S)
    assert match, name
    return int(re.findall(r"\d+", re.sub(r"<[^>]+>", " ", match.group(1)))[-1])


class SharedPartsTests:
    def test_a_shifted_period_runs_fewer_queries_than_the_first(self, keeping, history):
        first = history["first"]
        client = dashboard_client(AdminFactory())
        period = {"opened_from": (first + 9 * DAY).isoformat(), "opened_to": ""}
        shifted = {"opened_from": (first + 12 * DAY).isoformat(), "opened_to": ""}

        with CaptureQueriesContext(connection) as counting:
            client.get("/admin/", period)
        with CaptureQueriesContext(connection) as assembling:
            page = client.get("/admin/", shifted)
        scope = Scope.from_params(shifted, AdminFactory())

        assert len(assembling) <= len(counting) - 5
        assert figure(page, "open-total") == sum(
            every_figure(scope, True)["by_stage_step"].values()
        )

    def test_a_changed_date_counts_only_the_day_it_adds(self, keeping, history):
        """What the kept parts hold is read, not counted again: the longer period's queries
        read the incidents of the added day only, and its figures are those counted at once."""
        first = history["first"]
        administrator = AdminFactory()
        last = month_start(3) - DAY
        period = {"opened_from": (first + DAY).isoformat(), "opened_to": (last - DAY).isoformat()}
        longer = {**period, "opened_to": last.isoformat()}
        counted(Scope.from_params(period, administrator), True, ("version", 1))
        assert Incident.objects.filter(
            opened_at__gte=local(last, 0), opened_at__lt=local(last + DAY, 0)
        ).exists()

        with CaptureQueriesContext(connection) as queries:
            after = counted(Scope.from_params(longer, administrator), True, ("version", 1))

        read = " ".join(query["sql"] for query in queries if "opened_at" in query["sql"])
        assert str(local(last, 0))[:19] in read
        assert str(local(first + DAY, 0))[:19] not in read
        scope = Scope.from_params(longer, administrator)
        assert normalised(after.figures) == normalised(every_figure(scope, True))

    def test_people_who_see_the_same_projects_share_parts(self, keeping, history):
        first = history["first"]
        fae = Department.objects.get(code="FAE")
        period = {"opened_from": (first + 9 * DAY).isoformat(), "opened_to": ""}
        one = dashboard_client(SupervisorFactory(department=fae))
        other = dashboard_client(SupervisorFactory(department=fae))
        shifted = {"opened_from": (first + 10 * DAY).isoformat(), "opened_to": ""}

        with CaptureQueriesContext(connection) as counting:
            one.get("/admin/", period)
        with CaptureQueriesContext(connection) as sharing:
            other.get("/admin/", shifted)

        assert len(sharing) <= len(counting) - 5

    def test_a_restricted_project_never_shows_through_shared_parts(self, keeping, history):
        first = history["first"]
        xray = history["xray"]
        insider = SupervisorFactory(department=xray)
        outsider = SupervisorFactory(department=Department.objects.get(code="FAE"))
        period = {"opened_from": first.isoformat(), "opened_to": ""}
        shifted = {"opened_from": (first + DAY).isoformat(), "opened_to": ""}
        seen_by_insider = dashboard_client(insider).get("/admin/", period)
        outside = Scope.from_params(shifted, outsider)

        page = dashboard_client(outsider).get("/admin/", shifted)

        inside_total = figure(seen_by_insider, "open-total")
        outside_total = sum(every_figure(outside, True)["by_stage_step"].values())
        assert figure(page, "open-total") == outside_total < inside_total
        assert "Condor" not in page.content.decode()

    def test_a_change_to_an_incident_is_counted_in_every_period_covering_it(self, keeping, history):
        first = history["first"]
        administrator = AdminFactory()
        client = dashboard_client(administrator)
        period = {"opened_from": first.isoformat(), "opened_to": ""}
        before = figure(client.get("/admin/", period), "open-total")
        victim = (
            Incident.objects.filter(opened_at__gte=local(first + DAY, 0))
            .exclude(stage__in=TERMINAL_STAGES)
            .first()
        )

        incident_cancel(incident=victim, by=administrator, reason="Duplicate report")

        shifted = {"opened_from": (first + DAY).isoformat(), "opened_to": ""}
        scope = Scope.from_params(shifted, administrator)
        assert figure(client.get("/admin/", period), "open-total") == before - 1
        assert figure(client.get("/admin/", shifted), "open-total") == sum(
            every_figure(scope, True)["by_stage_step"].values()
        )


class PeriodEdgeTests:
    def test_a_visit_entered_just_after_midnight_on_the_first_day_is_counted(self, db):
        """The period's days are the factory's: on the embedded database too, whose bounds
        were read in another time zone than the stored times."""
        first = month_start(2)
        for opened, moved in ((local(first - DAY, 23, 50), 1), (local(first, 0, 10), 2)):
            incident = IncidentFactory(
                stage=Stage.FAE_RETEST,
                opened_at=opened,
                stage_entered_at=opened + datetime.timedelta(hours=moved),
            )
            for action, stage, at in (
                (WorkflowAction.OPEN, Stage.REPORTED, opened),
                (
                    WorkflowAction.APPROVE,
                    Stage.FAE_RETEST,
                    opened + datetime.timedelta(hours=moved),
                ),
            ):
                IncidentEvent.objects.create(
                    incident=incident,
                    action=action,
                    from_stage=Stage.REPORTED,
                    to_stage=stage,
                    created_at=at,
                )
            visit_ends_write([incident.pk])
        scope = Scope(opened_from=first.isoformat(), opened_to=first.isoformat())

        reported = every_figure(scope, True)["cycle"][0]

        assert (reported["stage"], reported["count"], reported["median_hours"]) == (
            Stage.REPORTED,
            1,
            2.0,
        )
