"""Reads for pages and lists: one incident's page (`records`, `graph`, `actions`), a person's
work queues (`queues`), roles in words (`roles`), where the device is for the workflow
(`custody`), who may take work (`assignments`), people moving between departments (`people`),
what the legacy imports read (`legacy`) and what was seen before of a failure (`similar`).
Every name is re-exported here, so callers import `incidents.selectors`."""

from incidents.selectors.actions import blocked_actions, row_action_refusals
from incidents.selectors.assignments import assignable_to_any, with_open_workload
from incidents.selectors.custody import (
    custody_warning,
    device_open_incident,
    home_location,
    scan_station_device_status,
    stage_work_location,
)
from incidents.selectors.graph import workflow_graph
from incidents.selectors.legacy import incidents_worked_in_product
from incidents.selectors.people import (
    assignments_left_behind,
    department_open_stage_incidents,
    hand_over_candidates,
    hand_over_default,
    open_assignments,
    stages_takeable,
)
from incidents.selectors.queues import (
    WORK_QUEUES,
    unread_notification_count,
    unread_notifications_of,
    work_queue,
    work_queue_badges,
    work_queue_counts,
    work_queue_next,
)
from incidents.selectors.records import (
    incident_records_by_stage,
    incident_reported_by_line,
    incident_summary,
    incident_timeline,
)
from incidents.selectors.results import device_recent_results
from incidents.selectors.roles import (
    manages_people_with,
    permissions_named,
    role_holdings,
    role_matrix,
    role_permission_names,
    role_permissions_of,
    with_members,
)
from incidents.selectors.similar import (
    similar_incidents,
    suggested_groups,
    ungrouped_failures,
)

__all__ = [
    "WORK_QUEUES",
    "assignable_to_any",
    "assignments_left_behind",
    "blocked_actions",
    "custody_warning",
    "department_open_stage_incidents",
    "device_open_incident",
    "device_recent_results",
    "hand_over_candidates",
    "hand_over_default",
    "home_location",
    "incident_records_by_stage",
    "incident_reported_by_line",
    "incident_summary",
    "incident_timeline",
    "incidents_worked_in_product",
    "manages_people_with",
    "open_assignments",
    "permissions_named",
    "role_holdings",
    "role_matrix",
    "role_permission_names",
    "role_permissions_of",
    "row_action_refusals",
    "scan_station_device_status",
    "similar_incidents",
    "stage_work_location",
    "stages_takeable",
    "suggested_groups",
    "ungrouped_failures",
    "unread_notification_count",
    "unread_notifications_of",
    "with_members",
    "with_open_workload",
    "work_queue",
    "work_queue_badges",
    "work_queue_counts",
    "work_queue_next",
    "workflow_graph",
]
