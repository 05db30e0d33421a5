"""Stages, roles and statuses: the values stored in the database, with translated labels."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    """Where an incident is in the failure-analysis workflow (DESIGN.md)."""

    REPORTED = "reported", _("Reported by production")
    FAE_RETEST = "fae_retest", _("FAE retest")
    XRAY = "xray", _("X-ray inspection")
    EE_ANALYSIS = "ee_analysis", _("EE analysis")
    ME_ANALYSIS = "me_analysis", _("ME analysis")
    FINAL_RETEST = "final_retest", _("FAE final retest")
    RETURNED = "returned", _("Returned to the line")
    SCRAPPED = "scrapped", _("Scrapped")
    CANCELLED = "cancelled", _("Cancelled")


TERMINAL_STAGES = (Stage.RETURNED, Stage.SCRAPPED, Stage.CANCELLED)
OPEN_STAGES = tuple(stage for stage in Stage if stage not in TERMINAL_STAGES)
# The stages after FAE retest: an incident returned without any of them had no fault found.
BEYOND_RETEST = (Stage.XRAY, Stage.EE_ANALYSIS, Stage.ME_ANALYSIS, Stage.FINAL_RETEST)


class Role(models.TextChoices):
    """Role groups; the names are the Django group names created by a migration."""

    ADMIN = "admin", _("Administrator")
    SUPERVISOR = "supervisor", _("Supervisor")
    STAFF = "staff", _("Staff")


class ProblemGroupStatus(models.TextChoices):
    OPEN = "open", _("Open")
    INVESTIGATING = "investigating", _("Investigating")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


# A problem group still taking incidents: neither resolved nor closed.
OPEN_GROUP_STATUSES = (ProblemGroupStatus.OPEN, ProblemGroupStatus.INVESTIGATING)


class DepartmentCode:
    """Codes of the departments every factory starts with (admins may add more)."""

    PRODUCTION = "PROD"
    FAE = "FAE"
    XRAY = "XRAY"
    EE = "EE"
    ME = "ME"


# Which department owns each open stage out of the box; admins change it in Settings.
DEFAULT_STAGE_OWNERS = {
    Stage.REPORTED: DepartmentCode.PRODUCTION,
    Stage.FAE_RETEST: DepartmentCode.FAE,
    Stage.XRAY: DepartmentCode.XRAY,
    Stage.EE_ANALYSIS: DepartmentCode.EE,
    Stage.ME_ANALYSIS: DepartmentCode.ME,
    Stage.FINAL_RETEST: DepartmentCode.FAE,
}


class Step(models.TextChoices):
    """Where an incident is inside its current stage."""

    UNASSIGNED = "unassigned", _("Waiting for assignment")
    ASSIGNED = "assigned", _("In progress")
    SUBMITTED = "submitted", _("Waiting for review")
    CLOSED = "closed", _("Closed")


class Verdict(models.TextChoices):
    PASS = "pass", _("Pass")
    FAIL = "fail", _("Fail")
    RESOLVED = "resolved", _("Resolved")
    NOT_RESOLVED = "not_resolved", _("Not resolved")


# The verdicts an analysis result may carry in each stage; `reported` needs none to move on.
STAGE_VERDICTS: dict[Stage, tuple[Verdict, ...]] = {
    Stage.FAE_RETEST: (Verdict.PASS, Verdict.FAIL),
    Stage.XRAY: (Verdict.PASS, Verdict.FAIL),
    Stage.EE_ANALYSIS: (Verdict.RESOLVED, Verdict.NOT_RESOLVED),
    Stage.ME_ANALYSIS: (Verdict.RESOLVED, Verdict.NOT_RESOLVED),
    Stage.FINAL_RETEST: (Verdict.PASS, Verdict.FAIL),
}

# The failure-analysis graph of DESIGN.md: (stage, verdict of its latest analysis) → next stage.
NEXT_STAGE: dict[tuple[Stage, Verdict | None], Stage] = {
    (Stage.REPORTED, None): Stage.FAE_RETEST,
    (Stage.FAE_RETEST, Verdict.PASS): Stage.RETURNED,
    (Stage.FAE_RETEST, Verdict.FAIL): Stage.XRAY,
    (Stage.XRAY, Verdict.PASS): Stage.EE_ANALYSIS,
    (Stage.XRAY, Verdict.FAIL): Stage.ME_ANALYSIS,
    (Stage.EE_ANALYSIS, Verdict.RESOLVED): Stage.FINAL_RETEST,
    (Stage.EE_ANALYSIS, Verdict.NOT_RESOLVED): Stage.SCRAPPED,
    (Stage.ME_ANALYSIS, Verdict.RESOLVED): Stage.FINAL_RETEST,
    (Stage.ME_ANALYSIS, Verdict.NOT_RESOLVED): Stage.SCRAPPED,
    (Stage.FINAL_RETEST, Verdict.PASS): Stage.RETURNED,
    (Stage.FINAL_RETEST, Verdict.FAIL): Stage.SCRAPPED,
}


class WorkflowAction(models.TextChoices):
    """What happened to an incident; one timeline entry each."""

    OPEN = "open", _("Opened")
    ASSIGN = "assign", _("Assigned")
    RECORD = "record", _("Operation record added")
    RESULT = "result", _("Analysis result added")
    SUBMIT = "submit", _("Submitted for review")
    APPROVE = "approve", _("Approved")
    REJECT = "reject", _("Sent back")
    CANCEL = "cancel", _("Cancelled")
    EDIT = "edit", _("Details changed")
    # Not a step of the workflow: what a notification of an @mention in the chat is about.
    MENTION = "mention", _("Mentioned in the chat")
    IMPORT = "import", _("Updated from the legacy workbook")
    # The assignee left the department: the stage goes back to its queue, as it stands.
    UNASSIGN = "unassign", _("Back to the queue")
    # Not a step of the workflow: what a notification that a project was restricted out of the
    # recipient's sight is about.
    RESTRICT = "restrict", _("Project restricted")
    # Not a step of the workflow: a report the recipient asked for is ready to download.
    REPORT = "report", _("Report ready")
    # Not steps of the workflow: an incident went past its stage's deadline, then past it by
    # a working day more.
    OVERDUE = "overdue", _("Past its deadline")
    ESCALATE = "escalate", _("Escalated: a working day past its deadline")


class TargetUnit(models.TextChoices):
    """What a stage's target time counts: working hours or working days of the calendar."""

    HOURS = "hours", _("working hours")
    DAYS = "days", _("working days")


class EventNote(models.TextChoices):
    """What the system says of a timeline entry, shown in each reader's language (people's own
    words are the entry's comment)."""

    LEGACY_IMPORT = "legacy_import", _("Imported from the legacy workbook")
    LEGACY_STAGE = "legacy_stage", _("Stage from the legacy workbook")
    ASSIGNEE_MOVED = "assignee_moved", _("Handed over: the assignee moved to another department")
    ASSIGNEE_LOST_ACCESS = (
        "assignee_lost_access",
        _("Handed over: the project was restricted and the assignee no longer sees it"),
    )


def stage_can_reach(start: str, goal: str) -> bool:
    """Whether the workflow can lead from stage `start` to stage `goal` (forwards only): along
    the graph of NEXT_STAGE, or to `cancelled` from any open stage."""
    if goal == Stage.CANCELLED:
        return start in OPEN_STAGES
    seen, frontier = {start}, [start]
    while frontier:
        stage = frontier.pop()
        for (source, _verdict), target in NEXT_STAGE.items():
            if source == stage and target not in seen:
                if target == goal:
                    return True
                seen.add(target)
                frontier.append(target)
    return False


class ConfigChangeKind(models.TextChoices):
    """What a change of the configuration was about (incidents.ConfigChange)."""

    ROLE = "role", _("Role")
    ROLE_PERMISSIONS = "role_permissions", _("Permissions of a role")
    PERSON_ROLES = "person_roles", _("Roles of a person")
    SUPERUSER = "superuser", _("Superuser status")
    DEPARTMENT = "department", _("Department")
    SUPERVISORS = "supervisors", _("Supervisors of a department")
    STAGE_OWNERSHIP = "stage_ownership", _("Stage ownership")
    PROJECT_ACCESS = "project_access", _("Project restriction")
    DEVICE_PROJECT = "device_project", _("Project of a device (across a restriction)")
    DEVICE_SERIAL = "device_serial", _("Serial number of a device (corrected)")


class ConfigChangeAction(models.TextChoices):
    CREATED = "created", _("Created")
    CHANGED = "changed", _("Changed")
    DELETED = "deleted", _("Deleted")


class ApiScope(models.TextChoices):
    """What an API token may do (DESIGN.md, "Machines talk to it")."""

    RESULTS_WRITE = "results:write", _("Report test results")
    INCIDENTS_READ = "incidents:read", _("Read incidents and problem groups")
    DEVICES_READ = "devices:read", _("Read devices and locations")
    WEBHOOKS_ADMIN = "webhooks:admin", _("Register webhooks")


class WebhookEvent(models.TextChoices):
    """What a webhook may be told of (DESIGN.md, "Machines talk to it")."""

    INCIDENT_OPENED = "incident.opened", _("Incident opened")
    INCIDENT_STAGE_CHANGED = "incident.stage_changed", _("Incident moved to another stage")
    INCIDENT_CLOSED = "incident.closed", _("Incident closed")
    DEVICE_MOVED = "device.moved", _("Device moved")


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed, to be tried again")
    GAVE_UP = "gave_up", _("Gave up")
