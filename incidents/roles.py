"""The permissions each role group carries on a new installation.

Migrations never read this table (that would change what an old migration does, and reset what
administrators configured): each one adds or removes the permissions it names
(incidents/migrations/_roles.py), and tests/incidents/test_roles.py checks that all of them
together give exactly this table. Object-level rules (only the owning department's supervisor
approves, only the assignee submits) are enforced by the services on top of these.
"""

from collections.abc import Iterable

from incidents.choices import Role

# The record of the work: incidents with their trail, records, results and files, problem groups,
# devices and locations with their histories (also the "read everything" capability's).
WORK_RECORD_MODELS = {
    "incidents": [
        "incident",
        "problemgroup",
        "historicalincident",
        "historicalproblemgroup",
        "operationrecord",
        "attachment",
        "analysisresult",
        "incidentevent",
        "eightd",
        "historicaleightd",
    ],
    "locations": ["device", "location", "historicaldevice", "historicallocation"],
}
_CONFIGURATION_MODELS = {
    "incidents": ["department", "employee", "stageownership", "projectaccess", "legacyimport"],
    "auth": ["group"],
}
# What an administrator edits; history and the audit trail (timeline, records, results) are
# written by the workflow only.
_EDITABLE_MODELS = {
    "incidents": ["incident", "problemgroup", *_CONFIGURATION_MODELS["incidents"]],
    "locations": ["device", "location"],
    "auth": ["group"],
}
# What an administrator may delete at all (the admin pages refuse anything still referenced by
# a trail); incidents are cancelled, never deleted, but by a superuser.
_DELETABLE_MODELS = {
    "incidents": [
        "problemgroup",
        "department",
        "employee",
        "stageownership",
        "projectaccess",
        "legacyimport",
    ],
    "locations": ["device", "location"],
    "auth": ["group"],
}


def model_permissions(models: dict[str, list[str]], actions: Iterable[str]) -> frozenset[str]:
    """The permissions ("app_label.action_model") of each action on each model named."""
    return frozenset(
        f"{app}.{action}_{model}"
        for app, names in models.items()
        for model in names
        for action in actions
    )


_READ_ALL = model_permissions(WORK_RECORD_MODELS, ("view",)) | model_permissions(
    {"incidents": ["department", "employee", "stageownership"]}, ("view",)
)
_OWN_NOTIFICATIONS = {"incidents.view_notification", "incidents.change_notification"}
# Adding records is further limited to the incident's assignee by the services. Staff move
# devices (scan station) but do not edit what a device is. Anyone may be a problem group's
# owner; the services let only the owner (or an administrator) write its 8D report.
_FILL_EIGHTD = {"incidents.change_eightd"}
_STAFF = (
    _READ_ALL
    | _OWN_NOTIFICATIONS
    | _FILL_EIGHTD
    | {
        "incidents.add_operationrecord",
        "incidents.add_analysisresult",
        "incidents.add_incident",
        "locations.add_device",
        "locations.move_device",
    }
)
_SUPERVISOR = _STAFF | {
    "incidents.change_incident",
    "incidents.add_problemgroup",
    "incidents.change_problemgroup",
    "locations.add_location",
    "locations.change_location",
    "locations.change_device",
}
_ADMIN = (
    model_permissions(WORK_RECORD_MODELS, ("view",))
    | model_permissions(_CONFIGURATION_MODELS, ("view",))
    | model_permissions(_EDITABLE_MODELS, ("add", "change"))
    | model_permissions(_DELETABLE_MODELS, ("delete",))
    | _OWN_NOTIFICATIONS
    | _FILL_EIGHTD
    | {
        "incidents.add_operationrecord",
        "incidents.add_analysisresult",
        "locations.move_device",
        "auth.view_permission",
        # The audit trail of configuration: read, never written from a page.
        "incidents.view_configchange",
    }
)

ROLE_PERMISSIONS: dict[str, set[str]] = {
    Role.STAFF: _STAFF,
    Role.SUPERVISOR: _SUPERVISOR,
    Role.ADMIN: _ADMIN,
}
