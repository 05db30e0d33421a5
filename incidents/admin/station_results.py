"""The device's recent test results on its incident's page (station_results.html): the table of
the newest results and a small chart per test item that measured values. Everything shown was
written by a machine: the template escapes it, and only http(s) log links become links."""

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from config.kit.sparklines import sparkline
from incidents.selectors import device_recent_results
from locations.models import Device


def number(value: float | None) -> str:
    """A measured value or limit as a person reads it: six significant digits, whatever its size."""
    return "" if value is None else f"{value:.6g}"


def limits(low: float | None, high: float | None) -> str:
    if low is None and high is None:
        return ""
    return f"{number(low) or '−∞'} … {number(high) or '+∞'}"


def is_link(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def _row(run) -> dict:
    return {
        "tested_at": run.tested_at,
        "station": run.station,
        "test_item": run.test_item,
        "passed": run.passed,
        "value": number(run.value),
        "limits": limits(run.low_limit, run.high_limit),
        "log_url": run.log_url,
        "log_is_link": is_link(run.log_url),
    }


def _chart(found) -> dict | None:
    latest = found.latest
    points = [
        (
            run.value,
            not run.passed,
            "{} · {} · {}".format(
                date_format(timezone.localtime(run.tested_at), "SHORT_DATETIME_FORMAT"),
                number(run.value),
                _("pass") if run.passed else _("fail"),
            ),
        )
        for run in found.runs
    ]
    drawn = sparkline(points, low=latest.low_limit, high=latest.high_limit)
    if drawn is None:
        return None
    return {
        "station": found.station,
        "test_item": found.test_item,
        "chart": drawn,
        "latest": number(latest.value),
        "limits": limits(latest.low_limit, latest.high_limit),
        "failures": sum(1 for run in found.runs if not run.passed),
        "runs": len(found.runs),
    }


def recent_results_context(device: Device, user) -> dict | None:
    """What station_results.html shows of `device` to `user`; None when it has no results."""
    recent = device_recent_results(device, user)
    if not recent.rows:
        return None
    charts = [chart for chart in map(_chart, recent.series) if chart is not None]
    return {"rows": [_row(run) for run in recent.rows], "charts": charts}
