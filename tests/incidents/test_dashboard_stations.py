"""Stations that fail good devices (incidents.dashboard.stations) on a hand-made history whose
answers are known: the share of no fault found per fail station and fail item, flagged at the
threshold's edges (29% and 30%, 9 and 10 incidents), counted in the period only, for the
incidents the viewer may see; each number equal to the count of the incident list its link
opens, and the list's new filters refusing what names no day."""

import datetime
import re
from html import unescape

import pytest
from django.db import connection
from django.test import TestCase, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.choices import Stage, Step, WorkflowAction
from incidents.dashboard import Scope, counted, false_fail_params, false_fails, scope_filter
from incidents.models import Department, Incident, IncidentEvent, ProjectAccess
from tests.config.test_settings import ROOT, run
from tests.factories import AdminFactory, DeviceFactory, StaffFactory, SupervisorFactory

DAY = datetime.timedelta(days=1)
SECOND = datetime.timedelta(seconds=1)
# The period's last day; the period of flow without a start is the 13 weeks up to it.
LAST = timezone.localdate() - 20 * DAY
FIRST = LAST - datetime.timedelta(weeks=13) + DAY
CHANGELIST = "/admin/incidents/incident/"


def day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def inside(n: int) -> datetime.datetime:
    """A moment well inside the period."""
    return day_start(FIRST + 30 * DAY) + n * datetime.timedelta(minutes=7)


def ended(station, item, closed_at, *, nff=True, scrapped=False, project="Kestrel", reporter):
    """An incident of the failure (station, item) that ended at `closed_at`: returned straight
    from FAE retest (no fault found), or sent on to X-ray and returned or scrapped."""
    stage = Stage.SCRAPPED if scrapped else Stage.RETURNED
    opened = closed_at - 50 * DAY
    incident = Incident.objects.create(
        device=DeviceFactory(project=project),
        reporter=reporter,
        fail_station=station,
        fail_item=item,
        stage=stage,
        step=Step.CLOSED,
        opened_at=opened,
        stage_entered_at=closed_at,
        closed_at=closed_at,
    )
    walk = [Stage.REPORTED, Stage.FAE_RETEST]
    walk += [stage] if nff and not scrapped else [Stage.XRAY, Stage.EE_ANALYSIS, stage]
    previous = Stage.REPORTED
    for n, to in enumerate(walk):
        IncidentEvent.objects.create(
            incident=incident,
            action=WorkflowAction.APPROVE if n else WorkflowAction.OPEN,
            from_stage=previous,
            to_stage=to,
            created_at=opened + n * DAY if n < len(walk) - 1 else closed_at,
        )
        previous = to
    return incident


def many(count, station, item, *, nff, reporter, start=0, **kw):
    return [
        ended(station, item, inside(start + n), nff=nff, scrapped=not nff, reporter=reporter, **kw)
        for n in range(count)
    ]


def figure_links(html: str) -> dict[str, tuple[str, int]]:
    """{data-figure: (link, number shown)} of the dashboard page."""
    found = {}
    for match in re.finditer(
        r'<a href="([^"]+)"[^>]*data-figure="([^"]+)"[^>]*>(.*?)</a>', html, flags=re.S
    ):
        number = re.findall(r"\d+", re.sub(r"<[^>]+>", " ", match.group(3)))[-1]
        found[match.group(2)] = (unescape(match.group(1)), int(number))
    return found


@override_settings(NFF_STATION_SHARE=0.30, NFF_STATION_MIN_INCIDENTS=10)
class FalseFailTests(TestCase):
    """ST_EDGE·RF_TX: 3 of 10 (30%), two of them on the period's first and last moments, and
    two more just outside it; ST_BELOW·CAM_AF: 5 of 17 (29.4%); ST_NINE·BT_RSSI: 9 of 9 (too
    few); ST_HIGH·BT_RSSI: 8 of 10, and an incident sent on to X-ray and returned (not no fault
    found); ST_SECRET·BT_RSSI: 10 of 10 in a project restricted to X-ray; incidents with no
    station or no item, cancelled and open ones."""

    @classmethod
    def setUpTestData(cls):
        reporter = StaffFactory()
        cls.reporter = reporter
        ended("ST_EDGE", "RF_TX", day_start(FIRST), reporter=reporter)
        ended("ST_EDGE", "RF_TX", day_start(LAST + DAY) - SECOND, reporter=reporter)
        ended("ST_EDGE", "RF_TX", inside(0), reporter=reporter)
        many(7, "ST_EDGE", "RF_TX", nff=False, reporter=reporter, start=1)
        # Just outside the period: were they counted, the pair would be 5 of 12.
        ended("ST_EDGE", "RF_TX", day_start(FIRST) - SECOND, reporter=reporter)
        ended("ST_EDGE", "RF_TX", day_start(LAST + DAY), reporter=reporter)

        many(5, "ST_BELOW", "CAM_AF", nff=True, reporter=reporter, start=10)
        many(12, "ST_BELOW", "CAM_AF", nff=False, reporter=reporter, start=20)

        many(9, "ST_NINE", "BT_RSSI", nff=True, reporter=reporter, start=40)

        many(8, "ST_HIGH", "BT_RSSI", nff=True, reporter=reporter, start=50)
        many(1, "ST_HIGH", "BT_RSSI", nff=False, reporter=reporter, start=60)
        # Returned, but after X-ray and EE analysis: a fault was looked for and fixed.
        late = ended("ST_HIGH", "BT_RSSI", inside(61), nff=False, reporter=reporter)
        assert late.stage == Stage.RETURNED

        many(10, "ST_SECRET", "BT_RSSI", nff=True, reporter=reporter, start=70, project="Heron")
        cls.xray = Department.objects.get(code="XRAY")
        ProjectAccess.objects.create(project="Heron").departments.add(cls.xray)

        # No pair: no station, no item; cancelled; still open.
        many(10, "", "BT_RSSI", nff=True, reporter=reporter, start=80)
        many(10, "ST_BLANK", "", nff=True, reporter=reporter, start=90)
        for n in range(3):
            Incident.objects.create(
                device=DeviceFactory(),
                reporter=reporter,
                fail_station="ST_HIGH",
                fail_item="BT_RSSI",
                stage=Stage.CANCELLED if n else Stage.FAE_RETEST,
                step=Step.CLOSED if n else Step.ASSIGNED,
                opened_at=inside(100),
                stage_entered_at=inside(100 + n),
                closed_at=inside(100 + n) if n else None,
            )
        cls.admin = AdminFactory()
        cls.outsider = SupervisorFactory(department=Department.objects.get(code="FAE"))

    def rows(self, viewer=None, **params):
        scope = Scope.from_params({"opened_to": LAST.isoformat(), **params}, viewer or self.admin)
        return {(row["station"], row["item"]): row for row in false_fails(scope)}

    def test_each_pair_counts_its_incidents_ended_in_the_period_and_those_with_no_fault_found(
        self,
    ):
        rows = self.rows()

        summary = {pair: (row["nff"], row["ended"], row["share"]) for pair, row in rows.items()}
        assert summary == {
            ("ST_EDGE", "RF_TX"): (3, 10, 30.0),
            ("ST_BELOW", "CAM_AF"): (5, 17, 29.4),
            ("ST_NINE", "BT_RSSI"): (9, 9, 100.0),
            ("ST_HIGH", "BT_RSSI"): (8, 10, 80.0),
            ("ST_SECRET", "BT_RSSI"): (10, 10, 100.0),
        }

    def test_thirty_percent_of_ten_is_flagged_and_twenty_nine_or_nine_incidents_are_not(self):
        flagged = {pair for pair, row in self.rows().items() if row["flagged"]}

        assert flagged == {("ST_EDGE", "RF_TX"), ("ST_HIGH", "BT_RSSI"), ("ST_SECRET", "BT_RSSI")}

    def test_flagged_pairs_come_first_by_share(self):
        scope = Scope.from_params({"opened_to": LAST.isoformat()}, self.admin)

        order = [(row["station"], row["flagged"]) for row in false_fails(scope)]

        assert order == [
            ("ST_SECRET", True),
            ("ST_HIGH", True),
            ("ST_EDGE", True),
            ("ST_NINE", False),
            ("ST_BELOW", False),
        ]

    def test_the_threshold_is_the_settings(self):
        with override_settings(NFF_STATION_SHARE=0.294, NFF_STATION_MIN_INCIDENTS=9):
            flagged = {pair[0] for pair, row in self.rows().items() if row["flagged"]}

        assert flagged == {"ST_EDGE", "ST_BELOW", "ST_NINE", "ST_HIGH", "ST_SECRET"}
        with override_settings(NFF_STATION_SHARE=0.31):
            assert not self.rows()[("ST_EDGE", "RF_TX")]["flagged"]

    def test_the_period_counts_its_first_and_last_moments_and_nothing_outside(self):
        for last, expected in (
            (LAST, [day_start(FIRST), inside(0), day_start(LAST + DAY) - SECOND]),
            # A day later: the first day's closing is out, the next day's first moment in.
            (LAST + DAY, [inside(0), day_start(LAST + DAY) - SECOND, day_start(LAST + DAY)]),
        ):
            scope = Scope.from_params({"opened_to": last.isoformat()}, self.admin)
            row = next(row for row in false_fails(scope) if row["station"] == "ST_EDGE")
            links = false_fail_params(scope, row)

            listed = scope_filter(
                Incident.objects.visible_to(self.admin), {**scope.params(), **links["nff"]}
            )

            assert sorted(listed.values_list("closed_at", flat=True)) == expected, last
            assert (row["nff"], row["ended"]) == (3, 10)

    def test_an_outsider_counts_only_the_incidents_they_may_see(self):
        seen = self.rows(self.outsider)
        insider = self.rows(SupervisorFactory(department=self.xray))

        assert ("ST_SECRET", "BT_RSSI") not in seen
        assert set(seen) == set(self.rows()) - {("ST_SECRET", "BT_RSSI")}
        assert insider[("ST_SECRET", "BT_RSSI")]["flagged"]

    def test_a_project_narrows_the_pairs(self):
        assert set(self.rows(project="Heron")) == {("ST_SECRET", "BT_RSSI")}

    def test_a_period_put_together_from_parts_has_the_same_rows(self):
        scope = Scope.from_params(
            {"opened_from": (FIRST - 60 * DAY).isoformat(), "opened_to": LAST.isoformat()},
            self.admin,
        )

        assembled = counted(scope, True, ("version", 1)).figures["false_fails"]

        assert assembled == false_fails(scope)
        assert [row["station"] for row in assembled][:3] == ["ST_SECRET", "ST_HIGH", "ST_EDGE"]

    def test_the_rows_are_counted_in_one_query_whatever_the_history(self):
        scope = Scope.from_params({"opened_to": LAST.isoformat()}, self.outsider)
        false_fails(scope)  # the viewer's roles and projects, read once for the person
        with CaptureQueriesContext(connection) as before:
            false_fails(scope)
        many(20, "ST_MORE", "WIFI", nff=True, reporter=self.reporter, start=120)
        with CaptureQueriesContext(connection) as after:
            rows = false_fails(scope)

        assert ("ST_MORE", True) in [(row["station"], row["flagged"]) for row in rows]
        assert len(after) == len(before) == 1

    def test_every_number_on_the_dashboard_is_the_count_of_the_list_its_link_opens(self):
        self.client.force_login(self.admin)

        page = self.client.get("/admin/", {"opened_to": LAST.isoformat()})

        html = page.content.decode()
        panel = html.split('data-testid="dashboard-false-fails"')[1].split("</section>")[0]
        assert panel.count('data-flagged="true"') == 3
        assert "30% or more of at least 10 incidents" in panel
        links = figure_links(panel)
        assert len(links) == 10
        for name, (url, shown) in links.items():
            listed = self.client.get(url)
            assert listed.status_code == 200, name
            assert listed.context["cl"].result_count == shown, (name, url)
        edge_nff = links["false-fail-3-nff"][0]
        assert "fail_station=ST_EDGE" in edge_nff and "nff=1" in edge_nff
        assert f"closed_from={FIRST.isoformat()}" in edge_nff

    def test_the_lists_panel_names_the_closing_days(self):
        self.client.force_login(self.admin)

        listed = self.client.get(
            CHANGELIST,
            {"closed_from": FIRST.isoformat(), "closed_to": LAST.isoformat(), "nff": "1"},
        )

        panel = listed.content.decode().split('data-testid="dashboard-filter"')[1][:800]
        assert f"closed from {FIRST.isoformat()}" in panel
        assert f"closed up to {LAST.isoformat()}" in panel

    def test_a_closing_day_that_names_no_day_lists_nothing(self):
        self.client.force_login(self.admin)
        # As a query string carries them.
        hostile = [
            "yesterday",
            "2025-13-45",
            "0001-01-01",
            "9999-12-31",
            "99999999999999999999",
            "x" * 10_000,
            "%ED%A0%80",
            "%5B%5D",
            "2025-01-01T00:00",
        ]
        for name in ("closed_from", "closed_to"):
            for value in hostile:
                listed = self.client.get(f"{CHANGELIST}?fail_station=ST_EDGE&{name}={value}")
                assert listed.status_code == 200, (name, value[:20])
                assert listed.context["cl"].result_count == 0, (name, value[:20])
        assert self.client.get(f"{CHANGELIST}?closed_from=%00").status_code == 400

    def test_a_hostile_station_or_item_lists_nothing(self):
        self.client.force_login(self.admin)

        for value in ("x" * 10_000, "%ED%A0%80", "%27%20OR%201%3D1%20--", "ST_EDGE%E2%80%8B"):
            listed = self.client.get(f"{CHANGELIST}?fail_station={value}&fail_item={value}&nff=1")
            assert listed.status_code == 200
            assert listed.context["cl"].result_count == 0


class ThresholdSettingTests:
    @pytest.mark.parametrize(
        "variables, said",
        [
            ({"NFF_STATION_SHARE": "30"}, "NFF_STATION_SHARE must be a share above 0"),
            ({"NFF_STATION_MIN_INCIDENTS": "0"}, "NFF_STATION_MIN_INCIDENTS must be at least 1"),
        ],
    )
    def test_a_threshold_that_flags_nothing_or_everything_is_refused_at_start(
        self, tmp_path, variables, said
    ):
        result = run(["manage.py", "check"], tmp_path, **variables)

        assert result.returncode != 0
        assert said in result.stderr
        assert "Traceback" not in result.stderr

    def test_the_threshold_is_documented_in_the_example_file(self):
        example = (ROOT / ".env.example").read_text(encoding="utf-8")

        assert "NFF_STATION_SHARE=0.30" in example
        assert "NFF_STATION_MIN_INCIDENTS=10" in example
