"""The admin home as a dashboard (config.unfold.dashboard_callback), and the incident list's
filter that shows what each of its numbers counts (incidents.dashboard.scope_filter)."""

import json

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

import incidents.admin.queues as queues
from incidents import dashboard, rules, selectors
from incidents.admin.deadlines import overdue_list_url
from incidents.choices import OPEN_STAGES, Stage, Step, WorkflowAction
from incidents.dashboard import AGING_BUCKETS, PARAMS, STEP_ORDER, Scope
from incidents.dashboard.home import LOAD_SIZE, department_load_and_others
from incidents.models import Department, Incident, LegacyImport, Notification
from incidents.selectors.deadlines import incidents_past_deadline
from locations.models import Location


class DashboardFilter(admin.ListFilter):
    """The dashboard's filters on the incident list: shown only when a link of the dashboard
    set them, with a way to drop them."""

    title = _("from the dashboard")
    template = "admin/incidents/incident/dashboard_filter.html"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.used = {}
        for name in PARAMS:
            if name in params:
                value = params.pop(name)
                self.used[name] = value[-1] if isinstance(value, list) else value

    def has_output(self) -> bool:
        # True, or the admin would not apply it at all.
        return True

    def expected_parameters(self) -> list[str]:
        return list(PARAMS)

    def queryset(self, request, queryset):
        return dashboard.scope_filter(queryset, self.used)

    def choices(self, changelist):
        yield {
            "selected": bool(self.used),
            "query_string": changelist.get_query_string(remove=list(PARAMS)),
            "display": "; ".join(described(self.used)),
        }


def described(used: dict[str, str]) -> list[str]:
    """The dashboard's filters in `used` (parameter: value) in the reader's words."""
    words = []
    for name, value in used.items():
        if name == "department" and value.isdigit():
            department = Department.objects.filter(pk=value).first()
            value = department.localized_name if department else value
        elif name == "location" and value.isdigit():
            place = Location.objects.filter(pk=value).first()
            value = f"{place.code} · {place.name}" if place else value
        elif name == "aged":
            value = next((str(label) for key, label, *_d in AGING_BUCKETS if key == value), value)
        if name in FLAGS:
            words.append(str(FLAGS[name].get(value, value)))
        else:
            words.append(str(DESCRIBED.get(name, name + ": %(value)s")) % {"value": value})
    return words


# How the panel of the incident list names each filter a dashboard link set.
DESCRIBED = {
    "project": _("project %(value)s"),
    "department": _("worked on by %(value)s"),
    "opened_from": _("opened from %(value)s"),
    "opened_to": _("opened up to %(value)s"),
    "fail_item": _("fail item %(value)s"),
    "fail_station": _("fail station %(value)s"),
    "location": _("at %(value)s or inside it"),
    "aged": _("in the current stage for %(value)s"),
    "closed_week": _("closed in the week of %(value)s"),
    "closed_from": _("closed from %(value)s"),
    "closed_to": _("closed up to %(value)s"),
}
FLAGS = {
    "state": {"open": _("open"), "closed": _("closed")},
    "nff": {"1": _("no fault found")},
    "sent_back": {"1": _("sent back in the current stage")},
}


# Blue for work, amber for waiting, green for done, red for scrap (the product's colours).
BLUE, LIGHT_BLUE, DARK_BLUE = "#3b82f6", "#93c5fd", "#1e3a8a"
AMBER, VIOLET, GREEN, RED, GREY = "#f59e0b", "#8b5cf6", "#16a34a", "#dc2626", "#9ca3af"
STEP_COLOURS = {Step.UNASSIGNED: AMBER, Step.ASSIGNED: BLUE, Step.SUBMITTED: VIOLET}
# One colour per open stage in the weekly trend, in the workflow's order.
TREND_COLOURS = [AMBER, BLUE, VIOLET, GREEN, RED, DARK_BLUE, GREY]

_LEGEND = {"legend": {"display": True, "position": "bottom"}}
# Chart.js options (Unfold's defaults draw thin overlapping bars, made for sparklines).
STACKED = json.dumps(
    {
        "responsive": True,
        "maintainAspectRatio": False,
        "animation": False,
        "plugins": _LEGEND,
        "scales": {"x": {"stacked": True}, "y": {"stacked": True, "beginAtZero": True}},
    }
)
GROUPED = json.dumps(
    {
        "responsive": True,
        "maintainAspectRatio": False,
        "animation": False,
        "plugins": _LEGEND,
        "scales": {"y": {"beginAtZero": True}},
    }
)
PARETO = json.dumps(
    {
        "responsive": True,
        "maintainAspectRatio": False,
        "animation": False,
        "plugins": _LEGEND,
        "scales": {
            "y": {"beginAtZero": True, "position": "left"},
            "y1": {"min": 0, "max": 100, "position": "right", "grid": {"drawOnChartArea": False}},
        },
    }
)


def dashboard_context(request: HttpRequest) -> dict:
    """Every figure of the dashboard for the filters in the request, with the links that list
    what each number counts."""
    scope = Scope.from_params(request.GET, request.user)
    changelist = reverse("admin:incidents_incident_changelist")
    stages = scope.stages()
    # Problem groups are named only to those who may see them (None: the panel is not shown).
    may_see_groups = request.user.has_perm("incidents.view_problemgroup")
    figures, counted_at, kept_as, kept_seconds = dashboard.kept(
        scope, lambda version: dashboard.counted(scope, may_see_groups, version), may_see_groups
    )
    by_stage_step = figures["by_stage_step"]
    stage_rows = []
    for stage in stages:
        cells = [
            {
                "step": step,
                "count": by_stage_step.get((stage, step), 0),
                "url": scope.list_url(changelist, stage__exact=stage, step__exact=step),
            }
            for step in STEP_ORDER
        ]
        stage_rows.append(
            {
                "stage": stage,
                "label": Stage(stage).label,
                "cells": cells,
                "total": sum(cell["count"] for cell in cells),
                "url": scope.list_url(changelist, stage__exact=stage),
            }
        )
    open_total = sum(row["total"] for row in stage_rows)
    departments = figures["departments"]
    for entry in departments:
        entry["url"] = scope.list_url(changelist, stage__exact=entry["stages"])
    cycle, trend, end_to_end = figures["cycle"], figures["trend"], figures["end_to_end"]
    for row in (*cycle, *end_to_end):
        row["median_text"] = dashboard.duration_text(row["median_hours"])
        row["p90_text"] = dashboard.duration_text(row["p90_hours"])
    aging = figures["aging"]
    for bucket in aging:
        bucket["url"] = scope.list_url(changelist, aged=bucket["key"], **scope.open_params())
    # Left out of the buckets: imported without the time they entered their stage.
    age_unknown = {
        "count": figures["age_unknown"],
        "url": scope.list_url(changelist, aged=dashboard.AGE_UNKNOWN, **scope.open_params()),
    }
    items = figures["pareto_items"]
    for row in items:
        row["url"] = scope.list_url(changelist, fail_item=row["value"])
    stations = figures["pareto_stations"]
    for row in stations:
        row["url"] = scope.list_url(changelist, fail_station=row["value"])
    weeks = figures["weeks"]
    for week in weeks:
        iso = week["week"].isoformat()
        for stage in (Stage.RETURNED, Stage.SCRAPPED, Stage.CANCELLED):
            week[f"{stage}_url"] = scope.list_url(changelist, closed_week=iso, stage__exact=stage)
        week["nff_url"] = scope.list_url(changelist, closed_week=iso, nff="1")
    false_fails = figures["false_fails"]
    for row in false_fails:
        links = dashboard.false_fail_params(scope, row)
        row["nff_url"] = scope.list_url(changelist, **links["nff"])
        row["ended_url"] = scope.list_url(changelist, **links["ended"])
    share, fewest = dashboard.threshold()
    places = figures["places"]
    for row in places:
        row["url"] = scope.list_url(changelist, location=row["location"].pk, **scope.open_params())
    groups = figures["problem_groups"]
    for group in groups or []:
        group.url = scope.list_url(changelist, problem_group__id__exact=group.pk)
    return {
        "scope": scope,
        # Shown under the figures of flow when no start date was chosen.
        "flow_since": None if scope.opened_from else dashboard.flow_period(scope)[0],
        "flow_weeks": dashboard.FLOW_WEEKS,
        "counted_at": counted_at,
        # The panels drawn from the figures are kept with them (templates/admin/index.html).
        "panels_key": kept_as,
        "panels_seconds": kept_seconds,
        "projects": figures["projects"],
        "departments": dashboard.departments(),
        "open_total": open_total,
        "open_url": scope.list_url(changelist, **scope.open_params()),
        "stage_rows": stage_rows,
        "steps": [step.label for step in STEP_ORDER],
        "department_rows": departments,
        "cycle_times": cycle,
        "cycle_trend": trend,
        "end_to_end": end_to_end,
        "aging": aging,
        "age_unknown": age_unknown,
        "oldest": figures["oldest"],
        "pareto_items": items,
        "pareto_stations": stations,
        "weeks": weeks,
        "false_fails": false_fails,
        "false_fail_threshold": {"share": round(float(share) * 100, 1), "fewest": fewest},
        "places": places,
        "problem_groups": groups,
        "charts": {
            "stages": dashboard.chart(
                [row["label"] for row in stage_rows],
                [
                    {
                        "label": str(step.label),
                        "data": [row["cells"][n]["count"] for row in stage_rows],
                        "backgroundColor": STEP_COLOURS[step],
                    }
                    for n, step in enumerate(STEP_ORDER)
                ],
            ),
            "cycle": dashboard.chart(
                [row["label"] for row in cycle],
                [
                    {
                        "label": str(_("median (days)")),
                        "data": [dashboard.in_days(row["median_hours"]) for row in cycle],
                        "backgroundColor": BLUE,
                    },
                    {
                        "label": str(_("90th percentile (days)")),
                        "data": [dashboard.in_days(row["p90_hours"]) for row in cycle],
                        "backgroundColor": LIGHT_BLUE,
                    },
                ],
            ),
            "cycle_trend": dashboard.chart(
                [week.isoformat() for week in trend["weeks"]],
                [
                    {
                        "label": str(row["label"]),
                        "data": [dashboard.in_days(hours) for hours in row["median_hours"]],
                        "borderColor": TREND_COLOURS[n % len(TREND_COLOURS)],
                        "backgroundColor": TREND_COLOURS[n % len(TREND_COLOURS)],
                        "spanGaps": True,
                    }
                    for n, row in enumerate(trend["stages"])
                ],
            ),
            "pareto_items": _pareto_chart(items),
            "pareto_stations": _pareto_chart(stations),
            "outcomes": dashboard.chart(
                [week["week"].isoformat() for week in weeks],
                [
                    {
                        "label": str(Stage.RETURNED.label),
                        "data": [w["returned"] for w in weeks],
                        "backgroundColor": GREEN,
                    },
                    {
                        "label": str(Stage.SCRAPPED.label),
                        "data": [w["scrapped"] for w in weeks],
                        "backgroundColor": RED,
                    },
                    {
                        "label": str(Stage.CANCELLED.label),
                        "data": [w["cancelled"] for w in weeks],
                        "backgroundColor": GREY,
                    },
                ],
            ),
        },
        "chart_options": {
            "stacked": STACKED,
            "grouped": GROUPED,
            "pareto": PARETO,
            "trend": GROUPED,
        },
        "aging_buckets": AGING_BUCKETS,
        "open_stages": OPEN_STAGES,
    }


def _pareto_chart(rows: list[dict]) -> str:
    return dashboard.chart(
        [row["value"] for row in rows],
        [
            {
                "type": "bar",
                "label": str(_("incidents")),
                "data": [r["count"] for r in rows],
                "backgroundColor": BLUE,
            },
            {
                "type": "line",
                "label": str(_("cumulative %")),
                "data": [r["cumulative"] for r in rows],
                "yAxisID": "y1",
                "borderColor": DARK_BLUE,
                "backgroundColor": DARK_BLUE,
            },
        ],
    )


def ungrouped_list_url(changelist: str, failure: dict) -> str:
    """The incident list of the open incidents with this failure in no problem group, where
    they are put in one together (the bulk action "Put selected incidents in a problem
    group")."""
    query = {
        "state": "open",
        "fail_station": failure["fail_station"],
        "fail_item": failure["fail_item"],
        "problem_group__isnull": "True",
    }
    return f"{changelist}?{urlencode(query)}"


def home_context(request: HttpRequest) -> dict:
    """What concerns the person first: their queues, what was sent back to them and mentions;
    for supervisors their review queue and their departments' load per person; for
    administrators the import jobs and what is misconfigured."""
    user = request.user
    changelist = reverse("admin:incidents_incident_changelist")
    # Exact here, where a supervisor reads how much waits (the sidebar's badges stop at 99+).
    counts = selectors.work_queue_counts(user)
    mine = [
        {
            "key": queue,
            "title": queues.QUEUE_TITLES[queue],
            "count": counts[queue],
            "url": queues.queue_list_url(queue),
        }
        for queue in selectors.WORK_QUEUES
    ]
    sent_back = selectors.work_queue(user, "mine").filter(stage_round__gt=1).count()
    mentions = (
        Notification.objects.filter(
            recipient=user, action=WorkflowAction.MENTION, read_at__isnull=True
        )
        .visible_to(user)
        .count()
    )
    overdue = incidents_past_deadline(Incident.objects.visible_to(user)).count()
    home = {
        "queues": mine,
        "sent_back": {"count": sent_back, "url": f"{changelist}?work=mine&sent_back=1"},
        "overdue": {"count": overdue, "url": overdue_list_url()},
        "mentions": {
            "count": mentions,
            "url": reverse("admin:incidents_notification_changelist")
            + f"?action={WorkflowAction.MENTION}&unread=1",
        },
        "departments": [],
    }
    for department in user.supervised_departments.order_by("code"):
        # The most loaded people, and how many more the department has.
        load, others = department_load_and_others(department, user, LOAD_SIZE)
        home["departments"].append({"department": department, "load": load, "others": others})
    if rules.may_review_any(user):
        # Open incidents failing alike in no problem group: a group waiting to be made.
        home["ungrouped"] = [
            {**row, "url": ungrouped_list_url(changelist, row)}
            for row in selectors.ungrouped_failures(user)
        ]
    if user.is_admin:
        home["imports"] = list(LegacyImport.objects.order_by("-created_at")[:5])
        home["problems"] = dashboard.misconfigurations()
    return {"home": home}
