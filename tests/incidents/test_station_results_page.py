"""The incident page shows the device's recent test results: a table of the newest (newest
first) and, per test item that measured values, a small chart drawn by the server with its
limits and failing runs marked. What a machine wrote is escaped, only http(s) logs are links,
and nothing shows for a device without results."""

import math
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.translation import override

from config.kit.sparklines import HEIGHT, PAD, sparkline
from incidents.admin.station_results import limits, number
from incidents.models import ProjectAccess, StationResult
from incidents.selectors import device_recent_results
from incidents.selectors.results import MAX_SERIES, RECENT_RESULTS, SERIES_RUNS
from tests.factories import IncidentFactory

HOSTILE = '<script>alert("x")</script>'


def runs(device, count, *, station="FCT-3", item="BT_RSSI", fail_every=0, start=None, **fields):
    """`count` results of `device`, a minute apart, oldest first; every `fail_every`-th fails."""
    start = start or timezone.now() - timedelta(hours=1)
    made = []
    for n in range(count):
        made.append(
            StationResult(
                device=device,
                station=station,
                result_id=f"{station}-{item}-{n}-{start.timestamp()}",
                test_item=item,
                passed=not (fail_every and n % fail_every == fail_every - 1),
                tested_at=start + timedelta(minutes=n),
                **({"value": -60.0 + n, "low_limit": -80.0, "high_limit": -20.0} | fields),
            )
        )
    return StationResult.objects.bulk_create(made)


def page(client, incident) -> str:
    answer = client.get(f"/admin/incidents/incident/{incident.pk}/change/")
    assert answer.status_code == 200
    return answer.content.decode()


@pytest.mark.django_db
class DeviceRecentResultsTests:
    def test_the_newest_results_come_first_and_at_most_twenty(self, staff_user):
        incident = IncidentFactory()
        runs(incident.device, 25)

        recent = device_recent_results(incident.device, staff_user)

        assert len(recent.rows) == RECENT_RESULTS
        times = [row.tested_at for row in recent.rows]
        assert times == sorted(times, reverse=True)
        assert recent.rows[0].result_id.startswith("FCT-3-BT_RSSI-24-")

    def test_each_item_with_values_has_its_runs_oldest_first(self, staff_user):
        incident = IncidentFactory()
        runs(incident.device, 40, fail_every=4)
        runs(incident.device, 3, item="NO_VALUE", value=None)

        (series,) = device_recent_results(incident.device, staff_user).series

        assert (series.station, series.test_item) == ("FCT-3", "BT_RSSI")
        assert len(series.runs) == SERIES_RUNS
        assert [run.value for run in series.runs] == [-60.0 + n for n in range(10, 40)]

    def test_items_that_failed_lately_come_first_and_there_are_few(self, staff_user):
        incident = IncidentFactory()
        for n in range(MAX_SERIES + 2):
            runs(incident.device, 2, item=f"ITEM_{n}")
        runs(
            incident.device,
            2,
            item="FAILED_EARLIER",
            fail_every=1,
            start=timezone.now() - timedelta(days=2),
        )

        series = device_recent_results(incident.device, staff_user).series

        assert len(series) == MAX_SERIES
        assert series[0].test_item == "FAILED_EARLIER"

    def test_results_of_a_project_hidden_from_the_person_are_not_read(self, staff_user):
        incident = IncidentFactory(device__project="Secret")
        runs(incident.device, 3)
        ProjectAccess.objects.create(project="Secret")

        recent = device_recent_results(incident.device, staff_user)

        assert recent.rows == [] and recent.series == []


@pytest.mark.django_db
class IncidentPageResultsTests:
    def test_the_page_shows_the_table_and_a_chart_with_limits_and_failures(self, staff_client):
        incident = IncidentFactory()
        runs(incident.device, 6, fail_every=3, log_url="https://logs.example/1.txt")

        html = page(staff_client, incident)

        assert 'data-testid="station-results"' in html
        table = html[html.index('data-testid="station-results-table"') :]
        assert table.count("<tr data-passed=") == 6
        assert table.count('data-passed="0"') == 2
        assert "-80 … -20" in table and 'href="https://logs.example/1.txt"' in table
        chart = html[html.index('class="adt-spark"') : html.index("</svg>")]
        assert chart.count("<circle") == 6 and chart.count('data-failing="1"') == 2
        assert 'data-limit="high"' in chart and 'data-limit="low"' in chart
        assert "<script" not in chart

    def test_nothing_is_shown_for_a_device_without_results(self, staff_client):
        html = page(staff_client, IncidentFactory())

        assert 'data-testid="station-results"' not in html

    def test_what_a_machine_wrote_is_escaped_and_only_web_logs_are_links(self, staff_client):
        incident = IncidentFactory()
        runs(
            incident.device,
            2,
            station=HOSTILE,
            item=f"{HOSTILE}\u202e",
            log_url="javascript:alert(1)",
        )

        html = page(staff_client, incident)

        assert HOSTILE not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
        assert 'href="javascript:' not in html

    def test_the_page_reads_in_chinese(self, staff_user, client):
        staff_user.language = "zh-hans"
        staff_user.save(update_fields=["language"])
        client.force_login(staff_user)
        incident = IncidentFactory()
        runs(incident.device, 3, fail_every=3)

        html = page(client, incident)

        assert "测试时间" in html and "测量值" in html and "失败" in html


class SparklineTests:
    def test_limits_run_across_and_the_highest_value_is_at_the_top(self):
        chart = sparkline([(1.0, False, "a"), (3.0, True, "b")], low=0.0, high=4.0)

        assert chart.high_y == PAD and chart.low_y == HEIGHT - PAD
        assert chart.points[1].y < chart.points[0].y and chart.points[1].failing
        assert chart.path.startswith("M") and " L" in chart.path

    @pytest.mark.parametrize(
        "values",
        [
            [1.7e308, -1.7e308],
            [5e-324, 0.0],
            [2.0, 2.0, 2.0],
            [42.0],
            [float("nan"), 1.0],
            [float("inf"), 1.0],
        ],
    )
    def test_any_finite_values_are_drawn_inside_the_chart(self, values):
        chart = sparkline([(value, False, "") for value in values], low=-1e308, high=1e308)

        for point in chart.points:
            assert math.isfinite(point.y) and 0 <= point.y <= HEIGHT
        assert re.fullmatch(r"[-0-9. MLe+]*", chart.path)

    def test_no_points_no_chart(self):
        assert sparkline([]) is None
        assert sparkline([(float("nan"), False, "")]) is None

    def test_values_read_as_six_digits_whatever_their_size(self):
        assert number(-82.5) == "-82.5" and number(1e300) == "1e+300" and number(None) == ""
        assert limits(None, 5.0) == "−∞ … 5" and limits(None, None) == ""
        with override("zh-hans"):
            assert number(0.1 + 0.2) == "0.3"
