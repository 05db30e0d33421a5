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
