"""Callbacks for the Unfold admin (named in settings.UNFOLD, called by config.admin_site.Site): the
sidebar, the environment badge, the dashboard and Ctrl+K's answers."""

import re
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext_lazy as _
from unfold.dataclasses import SearchResult

from config.kit.badges import badge_text
from config.kit.kept import kept_figure
from config.kit.search import bounded_search, search_cut_message
from fixtures.demo import demo_data_loaded
from incidents import access, selectors
from incidents.admin import queues
from incidents.admin.dashboard import dashboard_context, home_context
from incidents.choices import OPEN_STAGES, Stage
from incidents.models import Incident
from locations.models import Device
from locations.serials import serial_contains
from messaging import selectors as chat_selectors


def _can(permission: str):
    return lambda request: request.user.has_perm(permission)


def _item(title, icon: str, url_name: str, permission: str) -> dict:
    return {
        "title": title,
        "icon": icon,
        "link": reverse_lazy(url_name),
        "permission": _can(permission),
    }


def _queue(title, icon: str, queue: str) -> dict:
    """A work queue: the incident list filtered to it, with its size as a badge, marked as the
    place one is in on the list and on the incidents opened from it."""
    return {
        "title": title,
        "icon": icon,
        "link": lambda request: queues.queue_list_url(queue),
        "permission": _can("incidents.view_incident"),
        "badge": f"config.unfold.{queue}_badge",
        "badge_variant": "primary",
        "active": lambda request: queues.queue_of(request) == queue,
    }


def _in_incidents(request: HttpRequest) -> bool:
    """On the incident pages but in no queue and not in "Messages for me"."""
    return (
        queues.incident_pages(request)
        and queues.queue_of(request) is None
        and not _in_chat_unread(request)
    )


def _in_chat_unread(request: HttpRequest) -> bool:
    return request.path == reverse("admin:incidents_incident_changelist") and (
        request.GET.get("unread") == "1"
    )


def mine_badge(request: HttpRequest) -> str:
    return badge_text(queues.queue_counts(request)["mine"])


def review_badge(request: HttpRequest) -> str:
    return badge_text(queues.queue_counts(request)["review"])


def unassigned_badge(request: HttpRequest) -> str:
    return badge_text(queues.queue_counts(request)["unassigned"])


def unread_badge(request: HttpRequest) -> str:
    return badge_text(selectors.unread_notifications_of(request))


def chat_unread_badge(request: HttpRequest) -> str:
    return badge_text(
        kept_figure(
            request,
            "unread messages",
            lambda: chat_selectors.unread_count(request.user, for_badge=True),
        )
    )


def sidebar_navigation(request: HttpRequest) -> list[dict]:
    """The sidebar grouped by what people do, each link shown only to those allowed to open it."""
    return [
        {
            "title": _("Incidents"),
            "items": [
                {
                    "title": _("Dashboard"),
                    "icon": "dashboard",
                    "link": reverse_lazy("admin:index"),
                },
                _queue(_("Assigned to me"), "assignment_ind", "mine"),
                _queue(_("Waiting for my review"), "rate_review", "review"),
                _queue(_("Unassigned in my department"), "inbox", "unassigned"),
                {
                    **_item(
                        _("Notifications"),
                        "notifications",
                        "admin:incidents_notification_changelist",
                        "incidents.view_notification",
                    ),
                    "badge": "config.unfold.unread_badge",
                    "badge_variant": "primary",
                },
                # The reports this person asked for, made in the background.
                _item(
                    _("My reports"),
                    "download",
                    "admin:incidents_reportjob_changelist",
                    "incidents.view_notification",
                ),
                {
                    # The incidents whose chat holds messages this person has not read.
                    "title": _("Messages for me"),
                    "icon": "forum",
                    "link": lambda request: (
                        reverse("admin:incidents_incident_changelist") + "?unread=1"
                    ),
                    "permission": _can("incidents.view_incident"),
                    "badge": "config.unfold.chat_unread_badge",
                    "badge_variant": "primary",
                    "active": _in_chat_unread,
                },
                {
                    **_item(
                        _("Incidents"),
                        "report",
                        "admin:incidents_incident_changelist",
                        "incidents.view_incident",
                    ),
                    "active": _in_incidents,
                },
                _item(
                    _("Problem groups"),
                    "bug_report",
                    "admin:incidents_problemgroup_changelist",
                    "incidents.view_problemgroup",
                ),
                {
                    "title": _("Messages"),
                    "icon": "search",
                    "link": reverse_lazy("admin:messaging_message_changelist"),
                    "permission": "messaging.admin.may_search_messages",
                },
            ],
        },
        {
            "title": _("Devices & locations"),
            "items": [
                _item(
                    _("Devices"),
                    "devices",
                    "admin:locations_device_changelist",
                    "locations.view_device",
                ),
                _item(
                    _("Locations"),
                    "location_on",
                    "admin:locations_location_changelist",
                    "locations.view_location",
                ),
                _item(
                    _("Scan station"),
                    "qr_code_scanner",
                    "admin:locations_device_scan",
                    "locations.move_device",
                ),
            ],
        },
        {
            "title": _("People & departments"),
            "collapsible": True,
            "items": [
                _item(
                    _("Employees"),
                    "badge",
                    "admin:incidents_employee_changelist",
                    "incidents.view_employee",
                ),
                _item(
                    _("Departments"),
                    "groups",
                    "admin:incidents_department_changelist",
                    "incidents.view_department",
                ),
                _item(
                    _("Roles"), "shield_person", "admin:auth_group_changelist", "auth.view_group"
                ),
            ],
        },
        {
            "title": _("Settings"),
            "collapsible": True,
            "items": [
                _item(
                    _("Import legacy workbook"),
                    "upload_file",
                    "admin:incidents_legacyimport_add",
                    "incidents.add_legacyimport",
                ),
                _item(
                    _("Stage ownership"),
                    "account_tree",
                    "admin:incidents_stageownership_changelist",
                    "incidents.change_stageownership",
                ),
                {
                    "title": _("Working calendar"),
                    "icon": "calendar_month",
                    "link": reverse_lazy("admin:incidents_workcalendar_changelist"),
                    # Administrators only, as the page itself (incidents/admin/deadlines.py).
                    "permission": lambda request: access.sees_everything(request.user),
                },
                {
                    "title": _("Holidays and extra working days"),
                    "icon": "event_busy",
                    "link": reverse_lazy("admin:incidents_calendarday_changelist"),
                    "permission": lambda request: access.sees_everything(request.user),
                },
                {
                    "title": _("Test stations"),
                    "icon": "precision_manufacturing",
                    "link": reverse_lazy("admin:incidents_station_changelist"),
                    # Administrators only, as the page itself (incidents/admin/stations.py).
                    "permission": lambda request: access.sees_everything(request.user),
                },
                {
                    "title": _("Webhooks"),
                    "icon": "webhook",
                    "link": reverse_lazy("admin:incidents_webhook_changelist"),
                    # Administrators only, as the page itself (incidents/admin/webhooks.py).
                    "permission": lambda request: access.sees_everything(request.user),
                },
                _item(
                    _("Restricted projects"),
                    "lock",
                    "admin:incidents_projectaccess_changelist",
                    "incidents.view_projectaccess",
                ),
                _item(
                    _("Configuration changes"),
                    "manage_history",
                    "admin:incidents_configchange_changelist",
                    "incidents.view_configchange",
                ),
            ],
        },
    ]


# `13` or `#13` names incident 13.
INCIDENT_NUMBER = re.compile(r"#?\s*(\d{1,9})")
# Per kind of answer: enough to pick from in a command palette.
SEARCH_LIMIT = 10


def where_is_search(request: HttpRequest, term: str) -> list[SearchResult]:
    """Ctrl+K from any page, best answer first (Enter opens the first result):

    - `13` or `#13`: incident 13;
    - a serial number or part of one: where the device is, who holds it, and its open incident
      with its stage;
    - anything the incident list's search finds (a fail item such as CAM_AF, a project, a
      problem group, an assignee): those incidents, through that list's own search.

    Each part only for those who may view it, through the admin pages' own querysets."""
    term, cut = bounded_search(term.strip())
    if not term:
        return []
    incident_admin = admin.site.get_model_admin(Incident)
    device_admin = admin.site.get_model_admin(Device)
    may_see_incidents = incident_admin.has_view_permission(request)
    incidents = incident_admin.get_queryset(request).select_related("device", "assignee")
    results, shown = [], set()

    def add_incidents(found) -> None:
        for incident in found:
            if incident.pk not in shown:
                shown.add(incident.pk)
                results.append(_incident_result(incident))

    number = INCIDENT_NUMBER.fullmatch(term)
    if may_see_incidents and number:
        add_incidents(incidents.filter(pk=int(number[1])))
    if device_admin.has_view_permission(request):
        open_incident = Incident.objects.filter(device=OuterRef("pk"), stage__in=OPEN_STAGES)
        devices = (
            device_admin.get_queryset(request)
            .filter(serial_contains(term.lstrip("#")))
            .select_related("location", "holder")
            .annotate(open_incident=Subquery(open_incident.values("pk")[:1]))
            .order_by("serial_number")[:SEARCH_LIMIT]
        )
        results.extend(_device_result(device, may_see_incidents) for device in devices)
    if may_see_incidents:
        found, _duplicates = incident_admin.get_search_results(request, incidents, term)
        add_incidents(found.distinct().order_by("-opened_at", "-id")[:SEARCH_LIMIT])
    if cut:
        # First, so that nobody takes the answers for those of everything they typed.
        results.insert(0, _cut_search_result(term, may_see_incidents))
    return results


def _cut_search_result(term: str, may_see_incidents: bool) -> SearchResult:
    link = reverse("admin:index")
    if may_see_incidents:
        link = reverse("admin:incidents_incident_changelist") + "?" + urlencode({"q": term})
    return SearchResult(
        title=search_cut_message(),
        description=_("Searched for: %(terms)s") % {"terms": term},
        link=link,
        icon="content_cut",
    )


def _device_result(device: Device, with_incident: bool) -> SearchResult:
    description = _("at %(where)s · held by %(holder)s") % {
        "where": device.location or "—",
        "holder": device.holder.get_full_name() if device.holder else "—",
    }
    if with_incident and device.open_incident:
        description += " · " + _("open incident #%(number)s, %(stage)s") % {
            "number": device.open_incident,
            "stage": Stage(device.open_stage).label,
        }
    return SearchResult(
        title=device.serial_number,
        description=description,
        link=reverse("admin:locations_device_change", args=[device.pk]),
        icon="location_searching",
    )


def _incident_result(incident: Incident) -> SearchResult:
    parts = [
        incident.get_stage_display(),
        incident.get_step_display(),
        incident.assignee.get_full_name() if incident.assignee else _("unassigned"),
        incident.fail_item,
    ]
    return SearchResult(
        title=_("Incident %(incident)s") % {"incident": incident},
        description=" · ".join(str(part) for part in parts if part),
        link=reverse("admin:incidents_incident_change", args=[incident.pk]),
        icon="report",
    )


def environment_callback(request: HttpRequest) -> list[str] | None:
    """The badge beside the user menu, only where it tells people something: what they see is
    made-up demo data (not to be mistaken for the factory's). How the product is deployed
    (embedded or production) is nothing a factory user acts on, so it is not shown."""
    if kept_figure(request, "demo data", demo_data_loaded):
        return [_("Demo data"), "warning"]
    return None


def dashboard_callback(request: HttpRequest, context: dict) -> dict:
    """The admin home: the dashboard's figures (incidents.admin.dashboard) for those who may
    see incidents."""
    if request.user.has_perm("incidents.view_incident"):
        context.update(home_context(request))
        context.update(dashboard_context(request))
    return context
