"""What a role lets its people do, in words: each capability is a named bundle of permissions,
defined once here, with a one-sentence description. The role page shows them as checkboxes and
the role matrix as roles by capabilities; `BUILT_IN_ROLES` says what the built-in roles are in
these words (incidents/roles.py keeps their permission table, and a test checks both agree).

A capability is only the permissions Django checks on the pages, buttons, imports and exports.
Who may act on a given incident is decided on top of them by incidents/rules.py, whatever role
someone holds: a stage is assigned, approved and sent back by the supervisors of the department
that owns it (the department's page lists them) and reviewed or cancelled by administrators (the
built-in Administrator role); records, results and submitting are the assignee's.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from django.apps import apps
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from incidents.choices import Role
from incidents.roles import WORK_RECORD_MODELS, model_permissions


class CapabilityCode(models.TextChoices):
    """The capabilities, in the order the role page and the matrix show them."""

    READ_EVERYTHING = "read_everything", _("Read everything")
    OPEN_INCIDENTS = "open_incidents", pgettext_lazy("capability", "Open incidents")
    WORK_ON_ASSIGNED = "work_on_assigned", _("Work on assigned incidents")
    ASSIGN_AND_REVIEW = "assign_and_review", _("Assign and review")
    MOVE_DEVICES = "move_devices", _("Move devices")
    PRINT_LABELS = "print_labels", _("Print labels")
    IMPORT_EXPORT_LISTS = "import_export_lists", _("Import and export lists")
    IMPORT_LEGACY = "import_legacy", _("Import legacy workbooks")
    CONFIGURE_DEPARTMENTS = "configure_departments", _("Configure departments and stage ownership")
    MANAGE_PEOPLE = "manage_people", _("Manage people and roles")
    DELETE_UNUSED = "delete_unused", _("Delete unused records")


class Holding(models.TextChoices):
    """How much of a capability a role holds."""

    ALL = "all", _("Yes")
    PARTLY = "partly", _("Partly")
    NONE = "none", _("No")


# An incident's page as the people working it read it.
_INCIDENT_PAGE = model_permissions(
    {
        "incidents": [
            "incident",
            "historicalincident",
            "operationrecord",
            "attachment",
            "analysisresult",
            "incidentevent",
        ],
        "locations": ["device"],
    },
    ("view",),
)
# Everyone's own notifications (the list shows only the reader's; marking them read is a change).
_OWN_NOTIFICATIONS = frozenset({"incidents.view_notification", "incidents.change_notification"})
# The lists with Import / Export buttons beyond the people list (which is managing people).
_LISTS = {"incidents": ["incident"], "locations": ["device", "location"]}
# Who changed roles, departments, supervisors and stage ownership, and how: written by the
# changes themselves, only ever read.
_CONFIGURATION_TRAIL = frozenset({"incidents.view_configchange"})
# What is deleted while nothing refers to it yet (a mistyped device, an unused location).
_UNUSED = {"locations": ["device", "location"], "incidents": ["problemgroup"]}
_VIEW, _EDIT, _ALL = ("view",), ("add", "change"), ("view", "add", "change", "delete")


@dataclass(frozen=True)
class Capability:
    """A named bundle of permissions and what it lets people do, in a sentence."""

    code: CapabilityCode
    description: Promise
    permissions: frozenset[str]

    @property
    def name(self) -> str:
        return self.code.label


CAPABILITIES: tuple[Capability, ...] = (
    Capability(
        CapabilityCode.READ_EVERYTHING,
        _(
            "See every incident with its records, results, files, chat and trail, every problem "
            "group, device, location, department and stage owner, colleagues as on a badge, and "
            "export those lists; roles and legacy imports are not included."
        ),
        model_permissions(WORK_RECORD_MODELS, _VIEW)
        | model_permissions({"incidents": ["department", "employee", "stageownership"]}, _VIEW)
        | _OWN_NOTIFICATIONS,
    ),
    Capability(
        CapabilityCode.OPEN_INCIDENTS,
        _(
            "Report a failed device as a new incident (registering the device when its serial "
            "number is new), from the incident form or the device list, and follow it."
        ),
        frozenset(
            {
                "incidents.add_incident",
                "incidents.view_incident",
                "locations.add_device",
                "locations.view_device",
            }
        )
        | _OWN_NOTIFICATIONS,
    ),
    Capability(
        CapabilityCode.WORK_ON_ASSIGNED,
        _(
            "Add operation records and analysis results and submit for review on the incidents "
            "assigned to the person, and write the 8D report of the problem groups they own; "
            "only the assignee of a stage and the owner of a group do this work."
        ),
        frozenset(
            {
                "incidents.add_operationrecord",
                "incidents.add_analysisresult",
                "incidents.view_problemgroup",
                "incidents.view_eightd",
                "incidents.change_eightd",
            }
        )
        | _INCIDENT_PAGE
        | _OWN_NOTIFICATIONS,
    ),
    Capability(
        CapabilityCode.ASSIGN_AND_REVIEW,
        _(
            "Edit incidents' details and gather incidents into problem groups; who assigns, "
            "approves and sends back a stage is set on its department: its supervisors (and "
            "administrators) do, whatever their roles."
        ),
        frozenset(
            {
                "incidents.change_incident",
                "incidents.view_problemgroup",
                "incidents.add_problemgroup",
                "incidents.change_problemgroup",
                "incidents.view_historicalproblemgroup",
            }
        )
        | _INCIDENT_PAGE
        | _OWN_NOTIFICATIONS,
    ),
    Capability(
        CapabilityCode.MOVE_DEVICES,
        _(
            "Record where a device goes and who takes it, with the scan station or a device's "
            "Move button, without changing what the device is."
        ),
        frozenset(
            {
                "locations.move_device",
                "locations.view_device",
                "locations.view_location",
                "incidents.view_employee",
            }
        ),
    ),
    Capability(
        CapabilityCode.PRINT_LABELS,
        _(
            "See the device, location and people lists and print their QR labels (sheets and "
            "single labels), which comes with seeing those lists."
        ),
        model_permissions({"locations": ["device", "location"], "incidents": ["employee"]}, _VIEW),
    ),
    Capability(
        CapabilityCode.IMPORT_EXPORT_LISTS,
        _(
            "Import the incident, device and location lists from XLSX or CSV (exporting a list "
            "comes with seeing it); importing is editing, so this also lets the person open "
            "incidents, edit their details, and add and edit devices and locations on their forms."
        ),
        model_permissions(_LISTS, _VIEW + _EDIT) | _OWN_NOTIFICATIONS,
    ),
    Capability(
        CapabilityCode.IMPORT_LEGACY,
        _(
            "Upload the factory's legacy Excel workbook, read its check and confirm the import; "
            "the workbook may create people with their roles, departments, devices and "
            "incidents, so give it to whoever also manages people."
        ),
        model_permissions({"incidents": ["legacyimport"]}, _ALL),
    ),
    Capability(
        CapabilityCode.CONFIGURE_DEPARTMENTS,
        _(
            "Create, edit and remove departments, set their supervisors, choose which "
            "department owns each workflow stage and where it works, restrict confidential "
            "projects to departments and people, and read the trail of configuration changes."
        ),
        model_permissions({"incidents": ["department", "stageownership", "projectaccess"]}, _ALL)
        | _CONFIGURATION_TRAIL
        | {"incidents.view_employee", "locations.view_location"},
    ),
    Capability(
        CapabilityCode.MANAGE_PEOPLE,
        _(
            "Add, edit, deactivate, import and export people, set their passwords and roles, "
            "edit the roles themselves and read the trail of configuration changes; only a "
            "superuser makes a superuser."
        ),
        model_permissions({"incidents": ["employee"], "auth": ["group"]}, _ALL)
        | _CONFIGURATION_TRAIL
        | {"auth.view_permission", "incidents.view_department"},
    ),
    Capability(
        CapabilityCode.DELETE_UNUSED,
        _(
            "Delete devices, locations and problem groups nothing refers to yet; anything named "
            "in a trail or an incident is deactivated or kept instead."
        ),
        model_permissions(_UNUSED, ("view", "delete")) | _OWN_NOTIFICATIONS,
    ),
)
CAPABILITY_BY_CODE: dict[str, Capability] = {c.code: c for c in CAPABILITIES}


# The built-in roles in words. incidents/roles.py keeps their permission table (the one a new
# installation starts with); tests/incidents/test_capabilities.py checks the two say the same.
BUILT_IN_ROLES: dict[str, tuple[str, ...]] = {
    Role.STAFF: (
        CapabilityCode.READ_EVERYTHING,
        CapabilityCode.OPEN_INCIDENTS,
        CapabilityCode.WORK_ON_ASSIGNED,
        CapabilityCode.MOVE_DEVICES,
        CapabilityCode.PRINT_LABELS,
    ),
    Role.SUPERVISOR: (
        CapabilityCode.READ_EVERYTHING,
        CapabilityCode.OPEN_INCIDENTS,
        CapabilityCode.WORK_ON_ASSIGNED,
        CapabilityCode.ASSIGN_AND_REVIEW,
        CapabilityCode.MOVE_DEVICES,
        CapabilityCode.PRINT_LABELS,
        CapabilityCode.IMPORT_EXPORT_LISTS,
    ),
    Role.ADMIN: tuple(CapabilityCode),
}


def permissions_of(codes: Iterable[str]) -> set[str]:
    """Every permission (`app_label.codename`) the capabilities named by `codes` carry."""
    return set().union(*(CAPABILITY_BY_CODE[code].permissions for code in codes))


def held(permissions: set[str]) -> set[str]:
    """The codes of the capabilities whose every permission is in `permissions`."""
    return {c.code for c in CAPABILITIES if c.permissions <= permissions}


def permissions_after(
    current: set[str], granted: Iterable[str], withdrawn: Iterable[str]
) -> set[str]:
    """A role's permissions once the capabilities `granted` are given and those `withdrawn`
    taken away: what a withdrawn capability shares with one the role keeps stays (most share
    the right to read something), and nothing else of the role changes."""
    after_grant = set(current) | permissions_of(granted)
    kept = held(after_grant) - set(withdrawn)
    return after_grant - (permissions_of(withdrawn) - permissions_of(kept))


class CapabilityHolding(NamedTuple):
    capability: Capability
    holding: Holding
    # For a capability held partly: its permissions the role lacks.
    missing: tuple[str, ...] = ()


def holdings(permissions: set[str]) -> list[CapabilityHolding]:
    """Each capability, in order, and how much of it a role with `permissions` holds.

    Capabilities share permissions (most need to read something), so a capability counts as
    held partly only when the role holds some of what it adds beyond the capabilities the role
    holds whole: staff, who read everything, do not hold "Configure departments" partly just
    because they may see the departments."""
    whole = held(permissions)
    covered = permissions_of(whole)
    result = []
    for capability in CAPABILITIES:
        if capability.code in whole:
            result.append(CapabilityHolding(capability, Holding.ALL))
        elif (capability.permissions - covered) & permissions:
            missing = tuple(sorted(capability.permissions - permissions))
            result.append(CapabilityHolding(capability, Holding.PARTLY, missing))
        else:
            result.append(CapabilityHolding(capability, Holding.NONE))
    return result


def outside_capabilities(permissions: set[str]) -> set[str]:
    """The permissions no capability carries (given by hand on the role's permission list)."""
    return permissions - permissions_of(CAPABILITY_BY_CODE)


_ACTIONS = {"view": _("see"), "add": _("add"), "change": _("change"), "delete": _("delete")}


def permission_label(name: str) -> str:
    """A permission in words ("change devices"), or the name its model gives a permission of
    its own ("Can move devices and hand them over"); the codename when nothing knows it."""
    app_label, codename = name.split(".", 1)
    action, _sep, model_name = codename.partition("_")
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        model = None
    if model is not None and action in _ACTIONS:
        return gettext("%(action)s %(things)s") % {
            "action": _ACTIONS[action],
            "things": model._meta.verbose_name_plural,
        }
    for each in apps.get_app_config(app_label).get_models():
        for code, label in each._meta.permissions:
            if code == codename:
                return str(label)
    return name


def permission_labels(names: Iterable[str]) -> list[str]:
    """Permissions in words, in alphabetical order."""
    return sorted(permission_label(name) for name in names)


def included_in(code: str) -> list[Capability]:
    """The other capabilities that carry everything `code` does (it comes with each of them)."""
    wanted = CAPABILITY_BY_CODE[code].permissions
    return [c for c in CAPABILITIES if c.code != code and wanted <= c.permissions]
