"""The dashboard's figures on a small hand-made factory whose answers are known, and each number
equal to the count of the incident list its link opens."""

import datetime
import json
import re
from html import unescape

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.choices import Stage, Step, WorkflowAction
from incidents.dashboard import (
    Scope,
    _percentiles,
    aging,
    duration_text,
    end_to_end_times,
    in_days,
    open_devices_by_location,
    outcomes_by_week,
    paretos,
    stage_cycle_times,
    stage_cycle_trend,
)
from incidents.models import Department, Incident, IncidentEvent
from incidents.services.workflow import visit_ends_write
from tests.factories import (
    AdminFactory,
    DeviceFactory,
    IncidentFactory,
    LocationFactory,
    ProblemGroupFactory,
)

NOW = timezone.now()


def hours_ago(hours: float) -> datetime.datetime:
    return NOW - datetime.timedelta(hours=hours)


def incident_through(stages: list[tuple[str, float]], *, device=None, step=Step.UNASSIGNED, **kw):
    """An incident that entered each stage at the given hours ago (the first is its report);
    it is now in the last one."""
    opened = hours_ago(stages[0][1])
    last_stage, last_at = stages[-1][0], hours_ago(stages[-1][1])
    closed = last_stage in (Stage.RETURNED, Stage.SCRAPPED, Stage.CANCELLED)
    incident = IncidentFactory(
        device=device or DeviceFactory(),
        stage=last_stage,
        step=Step.CLOSED if closed else step,
        opened_at=opened,
        stage_entered_at=last_at,
        closed_at=last_at if closed else None,
        **kw,
    )
    previous = stages[0][0]
    IncidentEvent.objects.create(
        incident=incident,
        action=WorkflowAction.OPEN,
        from_stage=previous,
        to_stage=previous,
        created_at=opened,
    )
    for stage, ago in stages[1:]:
        IncidentEvent.objects.create(
            incident=incident,
            action=WorkflowAction.APPROVE,
            from_stage=previous,
            to_stage=stage,
            created_at=hours_ago(ago),
        )
        previous = stage
    # As every writer of the timeline does.
    visit_ends_write([incident.pk])
    return incident


@pytest.fixture
def factory_floor(db):
    """Three devices failed: two retested and returned, one sent on to X-ray and scrapped, one
    still in X-ray; fail items 3 x BT_RSSI, 1 x CAM_AF; places: building B1 > area A1 > shelf S1."""
    building = LocationFactory(code="B1", name="Building 1", parent=None)
    area = LocationFactory(code="A1", name="Lab area", parent=building)
    shelf = LocationFactory(code="S1", name="Shelf 1", parent=area)
    other = LocationFactory(code="B2", name="Building 2", parent=None)
    group = ProblemGroupFactory()
    floor = {
        # Reported 100 h ago, in FAE retest for 10 h (from 90 h ago), returned 80 h ago.
        "nff": incident_through(
            [(Stage.REPORTED, 100), (Stage.FAE_RETEST, 90), (Stage.RETURNED, 80)],
            device=DeviceFactory(location=other),
            fail_item="BT_RSSI",
            fail_station="ST3",
        ),
        # Reported 60 h ago, FAE retest 4 h, X-ray 20 h, scrapped.
        "scrap": incident_through(
            [
                (Stage.REPORTED, 60),
                (Stage.FAE_RETEST, 56),
                (Stage.XRAY, 52),
                (Stage.SCRAPPED, 32),
            ],
            device=DeviceFactory(location=other),
            fail_item="BT_RSSI",
            fail_station="ST3",
        ),
        # Still in X-ray since 30 h ago (after 2 h of FAE retest): waiting for review.
        "open_xray": incident_through(
            [(Stage.REPORTED, 40), (Stage.FAE_RETEST, 32), (Stage.XRAY, 30)],
            device=DeviceFactory(location=shelf),
            fail_item="BT_RSSI",
            fail_station="ST1",
            step=Step.SUBMITTED,
            problem_group=group,
        ),
        # Reported 400 h ago and never picked up: over two weeks in its stage.
        "stale": incident_through(
            [(Stage.REPORTED, 400)],
            device=DeviceFactory(location=area),
            fail_item="CAM_AF",
            fail_station="",
        ),
    }
    return {**floor, "building": building, "area": area, "shelf": shelf, "group": group}


class FigureTests:
    def test_cycle_times_are_the_median_and_90th_percentile_of_the_visits_that_ended(
        self, factory_floor
    ):
        rows = {row["stage"]: row for row in stage_cycle_times(Scope())}

        # FAE retest visits that ended: 10 h, 4 h, 2 h → median 4 h, p90 10 h.
        assert (rows[Stage.FAE_RETEST]["count"], rows[Stage.FAE_RETEST]["median_hours"]) == (3, 4)
        assert rows[Stage.FAE_RETEST]["p90_hours"] == 10
        # Reported: 10 h, 4 h, 8 h (the stale one has not left it).
        assert rows[Stage.REPORTED]["count"] == 3
        assert rows[Stage.REPORTED]["median_hours"] == 8
        # X-ray: one visit ended (20 h); the open one is not counted.
        assert (rows[Stage.XRAY]["count"], rows[Stage.XRAY]["median_hours"]) == (1, 20)

    def test_the_weekly_trend_is_the_median_of_the_visits_ended_each_week(self, factory_floor):
        trend = stage_cycle_trend(Scope())

        # FAE retest visits of 10 h, 4 h and 2 h ended 80, 52 and 30 hours ago.
        ended = {}
        for hours, ago in ((10, 80), (4, 52), (2, 30)):
            day = timezone.localtime(hours_ago(ago)).date()
            ended.setdefault(day - datetime.timedelta(days=day.weekday()), []).append(hours)
        expected = {
            week: sorted(durations)[(len(durations) + 1) // 2 - 1]
            for week, durations in ended.items()
        }
        fae = next(row for row in trend["stages"] if row["stage"] == Stage.FAE_RETEST)
        got = dict(zip(trend["weeks"], fae["median_hours"], strict=True))
        assert {week: hours for week, hours in got.items() if hours is not None} == expected
        assert len(trend["weeks"]) in (13, 14)
        assert (
            trend["weeks"][-1] <= timezone.localdate() < trend["weeks"][-1] + datetime.timedelta(7)
        )

    def test_the_figures_of_flow_look_back_a_quarter_unless_a_period_is_chosen(self, db):
        # Half a year ago: reported, 6 h in FAE retest, returned.
        weeks_26 = 26 * 7 * 24
        incident_through(
            [
                (Stage.REPORTED, weeks_26 + 8),
                (Stage.FAE_RETEST, weeks_26 + 6),
                (Stage.RETURNED, weeks_26),
            ]
        )
        since = timezone.localdate() - datetime.timedelta(weeks=30)

        def fae(scope):
            return {row["stage"]: row for row in stage_cycle_times(scope)}[Stage.FAE_RETEST]

        assert fae(Scope())["count"] == 0
        quarter = outcomes_by_week(Scope())
        assert [week["week"] for week in quarter] == stage_cycle_trend(Scope())["weeks"]
        assert {(w["returned"], w["scrapped"], w["cancelled"], w["nff"]) for w in quarter} == {
            (0, 0, 0, 0)
        }
        assert fae(Scope(opened_from=since.isoformat()))["count"] == 1
        assert fae(Scope(opened_from=since.isoformat()))["median_hours"] == 6
        assert (
            sum(week["returned"] for week in outcomes_by_week(Scope(opened_from=str(since)))) == 1
        )

    def test_end_to_end_times_run_from_report_to_return_or_scrap(self, factory_floor):
        rows = {row["stage"]: row for row in end_to_end_times(Scope())}

        assert rows[Stage.RETURNED]["median_hours"] == 20
        assert rows[Stage.SCRAPPED]["median_hours"] == 28

    def test_pareto_counts_and_cumulative_share(self, factory_floor):
        assert paretos(Scope())["fail_item"] == [
            {"value": "BT_RSSI", "count": 3, "cumulative": 75.0},
            {"value": "CAM_AF", "count": 1, "cumulative": 100.0},
        ]
        assert [r["value"] for r in paretos(Scope())["fail_station"]] == ["ST3", "ST1"]

    def test_both_paretos_come_from_one_count_and_skip_what_names_nothing(self, factory_floor):
        stations = sum(row["count"] for row in paretos(Scope())["fail_station"])
        IncidentFactory(device=DeviceFactory(), fail_item="CAM_AF", fail_station="")

        with CaptureQueriesContext(connection) as queries:
            both = paretos(Scope())

        counts = [q for q in queries.captured_queries if "incidents_incident" in q["sql"]]
        assert len(counts) == 1
        assert both["fail_item"][:2] == [
            {"value": "BT_RSSI", "count": 3, "cumulative": 60.0},
            {"value": "CAM_AF", "count": 2, "cumulative": 100.0},
        ]
        # The incident whose device names no station is not in the stations' share.
        assert both["fail_station"] == paretos(Scope(), ("fail_station",))["fail_station"]
        assert sum(row["count"] for row in both["fail_station"]) == stations

    def test_aging_buckets_count_the_time_in_the_current_stage(self, factory_floor):
        counts = {bucket["key"]: bucket["count"] for bucket in aging(Scope())}

        assert counts == {"lt1d": 0, "1to3d": 1, "3to7d": 0, "7to14d": 0, "gt14d": 1}

    def test_outcomes_count_returns_scraps_and_no_fault_found(self, factory_floor):
        weeks = outcomes_by_week(Scope())

        assert sum(w["returned"] for w in weeks) == 1
        assert sum(w["scrapped"] for w in weeks) == 1
        assert sum(w["nff"] for w in weeks) == 1

    def test_every_week_of_the_period_has_its_outcomes_a_week_without_closings_as_zeros(self, db):
        today = timezone.localdate()
        this_monday = today - datetime.timedelta(days=today.weekday())
        # Returned on the Tuesday three weeks back; nothing else ends in the period.
        tuesday = this_monday - datetime.timedelta(weeks=3) + datetime.timedelta(days=1)
        noon = timezone.make_aware(datetime.datetime.combine(tuesday, datetime.time(12)))
        ago = (timezone.now() - noon).total_seconds() / 3600
        incident_through([(Stage.REPORTED, ago + 30), (Stage.RETURNED, ago)])
        start = this_monday - datetime.timedelta(weeks=5)
        scope = Scope(opened_from=start.isoformat(), opened_to=today.isoformat())

        weeks = outcomes_by_week(scope)

        assert [week["week"] for week in weeks] == [
            start + datetime.timedelta(weeks=n) for n in range(6)
        ]
        by_week = {week["week"]: week for week in weeks}
        assert by_week[tuesday - datetime.timedelta(days=1)]["returned"] == 1
        assert [w["returned"] for w in weeks] == [0, 0, 1, 0, 0, 0]
        empty = by_week[this_monday]
        assert (empty["scrapped"], empty["cancelled"], empty["nff"]) == (0, 0, 0)
        assert empty["scrap_rate"] is None

    @pytest.mark.parametrize(
        "hours, days, text",
        [
            (None, None, "—"),
            (1, 0.04, "0.04 d"),
            (4, 0.17, "0.17 d"),
            (10, 0.4, "0.4 d"),
            (36, 1.5, "1.5 d"),
            (400, 16.7, "16.7 d"),
        ],
    )
    def test_times_are_shown_in_days(self, hours, days, text):
        assert in_days(hours) == days
        assert duration_text(hours) == text

    @pytest.mark.parametrize("size, median, p90", [(1, 1, 1), (10, 5, 9), (11, 6, 10)])
    def test_percentiles_are_the_nearest_rank_on_every_database(self, db, size, median, p90):
        durations = " UNION ALL ".join(
            f"SELECT 'x' AS grp, {seconds} AS seconds" for seconds in range(size, 0, -1)
        )

        assert _percentiles(durations, []) == {"x": (size, median, p90)}

    def test_the_pareto_share_counts_the_values_beyond_those_shown(self, db):
        for number in range(12):
            IncidentFactory(device=DeviceFactory(), fail_item=f"ITEM_{number:02}")

        rows = paretos(Scope())["fail_item"]

        assert len(rows) == 10
        assert rows[-1]["cumulative"] == round(100 * 10 / 12, 1)

    def test_the_heat_map_counts_each_place_with_the_places_inside_it(self, factory_floor):
        rows = {row["location"].code: row for row in open_devices_by_location(Scope())}

        # Open: the X-ray device on shelf S1 and the stale one in area A1.
        assert {code: row["count"] for code, row in rows.items()} == {"B1": 2, "A1": 2, "S1": 1}
        assert [rows[c]["depth"] for c in ("B1", "A1", "S1")] == [0, 1, 2]

    def test_a_project_filter_narrows_every_figure(self, factory_floor):
        factory_floor["stale"].device.project = "Osprey"
        factory_floor["stale"].device.save()

        scope = Scope(project="Osprey")

        assert [r["value"] for r in paretos(scope)["fail_item"]] == ["CAM_AF"]
        assert {b["key"]: b["count"] for b in aging(scope)}["1to3d"] == 0


def figure_links(html: str) -> dict[str, tuple[str, int]]:
    """{data-figure: (link, number shown)} of the dashboard page."""
    found = {}
    for match in re.finditer(
        r'<a href="([^"]+)"[^>]*data-figure="([^"]+)"[^>]*>(.*?)</a>', html, flags=re.S
    ):
        number = re.findall(r"\d+", re.sub(r"<[^>]+>", " ", match.group(3)))[-1]
        found[match.group(2)] = (unescape(match.group(1)), int(number))
    return found


class VisitEndTests:
    @pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a schema editor inside the test's transaction needs PostgreSQL",
    )
    def test_the_migration_writes_when_each_visit_of_the_timeline_so_far_ended(self, db):
        from importlib import import_module

        from django.apps import apps
        from django.db import connection

        migration = import_module("incidents.migrations.0023_stage_visit_ends")
        incident = incident_through([(Stage.REPORTED, 50), (Stage.FAE_RETEST, 40)])
        IncidentEvent.objects.create(
            incident=incident,
            action=WorkflowAction.ASSIGN,
            from_stage=Stage.FAE_RETEST,
            to_stage=Stage.FAE_RETEST,
            created_at=hours_ago(30),
        )
        IncidentEvent.objects.update(left_at=None)

        with connection.schema_editor() as editor:
            migration.write_visit_ends(apps, editor)

        events = incident.events.order_by("created_at", "id")
        assert [(e.action, e.left_at) for e in events] == [
            (WorkflowAction.OPEN, hours_ago(40)),
            (WorkflowAction.APPROVE, None),
            (WorkflowAction.ASSIGN, None),
        ]


class PageTests:
    def test_each_number_equals_the_count_of_the_list_its_link_opens(self, factory_floor):
        client = Client()
        client.force_login(AdminFactory())
        fae = Department.objects.get(code="FAE")

        for query in ("", f"?department={fae.pk}", "?project=Falcon"):
            page = client.get(f"/admin/{query}")
            assert page.status_code == 200
            links = figure_links(page.content.decode())
            assert {"open-total", "aged-1to3d", "fail-item-1"} <= set(links)
            for name, (url, shown) in links.items():
                listed = client.get(url)
                assert listed.status_code == 200, (name, url)
                assert listed.context["cl"].result_count == shown, (query, name, url)

        links = figure_links(client.get("/admin/").content.decode())
        assert links["open-total"][1] == 2
        assert links["open-xray-submitted"][1] == 1
        assert links[f"place-{factory_floor['building'].pk}"][1] == 2

    def test_the_charts_count_in_days_as_the_tables_do_and_show_every_week(self, factory_floor):
        client = Client()
        client.force_login(AdminFactory())
        today = timezone.localdate()
        # Without a start and with one (the latter put together from kept parts).
        for query in ("", f"?opened_from={(today - datetime.timedelta(weeks=8)).isoformat()}"):
            page = client.get(f"/admin/{query}")
            assert page.status_code == 200
            charts = {name: json.loads(data) for name, data in page.context["charts"].items()}

            # FAE retest: visits of 10 h, 4 h and 2 h, median 4 h and 90th percentile 10 h.
            stages = [row["stage"] for row in page.context["cycle_times"]]
            fae = stages.index(Stage.FAE_RETEST)
            cycle = charts["cycle"]["datasets"]
            assert (cycle[0]["data"][fae], cycle[1]["data"][fae]) == (0.17, 0.4)
            row = page.context["cycle_times"][fae]
            assert (row["median_text"], row["p90_text"]) == ("0.17 d", "0.4 d")
            trend = next(
                line
                for line in charts["cycle_trend"]["datasets"]
                if line["label"] == str(Stage.FAE_RETEST.label)
            )
            hours = next(
                row["median_hours"]
                for row in page.context["cycle_trend"]["stages"]
                if row["stage"] == Stage.FAE_RETEST
            )
            assert trend["data"] == [in_days(h) for h in hours]
            assert {0.08, 0.17, 0.4} & set(trend["data"])

            # Every week of the period in the outcomes' chart and table, nothing ended as 0.
            weeks = page.context["weeks"]
            assert charts["outcomes"]["labels"] == [w["week"].isoformat() for w in weeks]
            assert [w["week"] for w in weeks] == page.context["cycle_trend"]["weeks"]
            assert sum(charts["outcomes"]["datasets"][0]["data"]) == 1
            assert charts["outcomes"]["datasets"][0]["data"].count(0) == len(weeks) - 1

    def test_a_weeks_numbers_count_only_its_days_inside_the_period(self, db):
        today = timezone.localdate()
        # A Wednesday two weeks back: the period chosen ends on it, mid-week.
        wednesday = today - datetime.timedelta(days=today.weekday() - 2 + 14)

        def hours_before(day: datetime.date, hours: float) -> float:
            noon = timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))
            return (timezone.now() - noon).total_seconds() / 3600 + hours

        for closed_on in (wednesday, wednesday + datetime.timedelta(days=1)):
            incident_through(
                [
                    (Stage.REPORTED, hours_before(wednesday, 30)),
                    (Stage.RETURNED, hours_before(closed_on, 0)),
                ]
            )
        client = Client()
        client.force_login(AdminFactory())

        page = client.get(f"/admin/?opened_to={wednesday.isoformat()}")
        links = figure_links(page.content.decode())
        monday = wednesday - datetime.timedelta(days=2)
        url, shown = links[f"week-{monday.isoformat()}-returned"]

        # Closed on the Thursday, after the period: not in the week's number nor in its list.
        assert shown == 1
        assert client.get(url).context["cl"].result_count == 1

    def test_a_stage_link_ticks_the_lists_own_boxes_and_clearing_them_lists_everything(
        self, factory_floor
    ):
        client = Client()
        client.force_login(AdminFactory())
        fae = Department.objects.get(code="FAE")
        links = figure_links(client.get(f"/admin/?department={fae.pk}").content.decode())
        url, shown = links[f"department-{fae.pk}"]

        listed = client.get(url)
        stage_filter = next(
            spec
            for spec in listed.context["cl"].filter_specs
            if getattr(spec, "field_path", None) == "stage"
        )
        clear_all = client.get(url.split("?")[0] + listed.context["cl"].clear_all_filters_qs)

        assert listed.context["cl"].result_count == shown
        # The FAE stages are ticked in the panel, as if chosen there.
        assert sorted(stage_filter.value()) == sorted([Stage.FAE_RETEST, Stage.FINAL_RETEST])
        assert clear_all.context["cl"].result_count == Incident.objects.count()

    def test_the_lists_panel_names_the_dashboards_filters_in_words(self, factory_floor):
        client = Client()
        client.force_login(AdminFactory())
        fae = Department.objects.get(code="FAE")

        listed = client.get(
            "/admin/incidents/incident/",
            {"state": "open", "aged": "gt14d", "department": fae.pk, "nff": "1"},
        )
        panel = listed.content.decode().split('data-testid="dashboard-filter"')[1][:800]

        for words in ("open", "over 2 weeks", fae.localized_name, "no fault found"):
            assert words in panel
        assert "state:" not in panel and "aged" not in panel

    def test_with_show_counts_the_queues_are_counted_once(self, factory_floor):
        client = Client()
        client.force_login(AdminFactory())

        listed = client.get("/admin/incidents/incident/", {"_facets": "True"})
        labels = [
            str(choice["display"])
            for spec in listed.context["cl"].filter_specs
            if getattr(spec, "parameter_name", None) == "work"
            for choice in spec.choices(listed.context["cl"])
        ]

        assert any(label.startswith("Assigned to me (") for label in labels)
        assert not any(label.count("(") > 1 for label in labels)

    def test_the_dashboard_costs_the_same_queries_with_more_data(
        self, factory_floor, django_assert_max_num_queries
    ):
        client = Client()
        client.force_login(AdminFactory())
        client.get("/admin/")
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as small:
            client.get("/admin/")
        for n in range(15):
            incident_through(
                [(Stage.REPORTED, 50 + n), (Stage.FAE_RETEST, 40)],
                device=DeviceFactory(location=factory_floor["shelf"]),
                fail_item=f"ITEM_{n}",
            )
        with CaptureQueriesContext(connection) as large:
            client.get("/admin/")

        assert len(large) == len(small)
