from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from incidents.choices import OPEN_STAGES, Stage, TargetUnit

# The longest target a stage may have: a working year, in either unit.
MAX_TARGET = {TargetUnit.HOURS: 2500, TargetUnit.DAYS: 260}


class StageOwnership(models.Model):
    """Which department owns an open workflow stage (its supervisors assign and review it)."""

    stage = models.CharField(_("stage"), max_length=32, choices=Stage.choices)
    department = models.ForeignKey(
        "incidents.Department",
        on_delete=models.PROTECT,
        related_name="owned_stages",
        verbose_name=_("department"),
    )
    work_location = models.ForeignKey(
        "locations.Location",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="stage_ownerships",
        verbose_name=_("where the work happens"),
        help_text=_(
            "The device should be here while the incident is in this stage, e.g. XRAY-LAB. "
            "The incident page warns when it is not; the scan station says when it arrives."
        ),
    )
    target = models.PositiveIntegerField(
        _("target time"),
        null=True,
        blank=True,
        help_text=_(
            "How long an incident may stay in this stage, in working time of the working "
            "calendar; past it the incident is overdue and escalated. Empty: no deadline."
        ),
    )
    target_unit = models.CharField(
        _("target unit"), max_length=8, choices=TargetUnit.choices, default=TargetUnit.DAYS
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("stage ownership")
        verbose_name_plural = _("stage ownership")
        constraints = [
            models.UniqueConstraint(
                fields=["stage"],
                name="stage_ownership_stage_unique",
                violation_error_message=_("This stage already has an owning department."),
            ),
            models.CheckConstraint(
                condition=Q(target__isnull=True)
                | Q(target__gte=1, target_unit=TargetUnit.DAYS, target__lte=MAX_TARGET["days"])
                | Q(target__gte=1, target_unit=TargetUnit.HOURS, target__lte=MAX_TARGET["hours"]),
                name="stage_ownership_target_range",
                violation_error_message=_(
                    "A target time is at least 1 and at most a working year "
                    "(260 working days or 2500 working hours)."
                ),
            ),
            models.CheckConstraint(
                condition=Q(stage__in=OPEN_STAGES),
                name="stage_ownership_open_stage",
                violation_error_message=_("Only open stages are owned by a department."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_stage_display()} → {self.department}"
