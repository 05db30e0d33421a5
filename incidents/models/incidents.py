from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin
from simple_history.models import HistoricalRecords

from incidents.choices import OPEN_STAGES, TERMINAL_STAGES, ProblemGroupStatus, Stage
from incidents.fields import CodeField

problem_group_number_validator = RegexValidator(
    r"^[A-Z][A-Z0-9]*-\d{4}-\d{3,}$",
    _("Use the form PREFIX-YEAR-NUMBER, e.g. BUG-2025-0012."),
)


class ProblemGroup(models.Model):
    """Incidents that share a root cause (legacy sheets: 问题编号)."""

    number = CodeField(
        _("number"),
        max_length=32,
        validators=[problem_group_number_validator],
        help_text=_("e.g. BUG-2025-0012"),
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=ProblemGroupStatus.choices,
        default=ProblemGroupStatus.OPEN,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-number"]
        verbose_name = _("problem group")
        verbose_name_plural = _("problem groups")
        constraints = [
            models.UniqueConstraint(
                fields=["number"],
                name="problem_group_number_unique",
                violation_error_message=_("A problem group with this number already exists."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}".strip()


class Incident(FSMModelMixin, models.Model):
    """A device pulled off the line after failing a test station, and its analysis."""

    device = models.ForeignKey(
        "locations.Device",
        on_delete=models.PROTECT,
        related_name="incidents",
        verbose_name=_("device"),
    )
    problem_group = models.ForeignKey(
        "incidents.ProblemGroup",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incidents",
        verbose_name=_("problem group"),
    )
    # Changes only through workflow transitions; assigning it directly raises.
    stage = FSMField(
        _("stage"),
        max_length=32,
        choices=Stage.choices,
        default=Stage.REPORTED,
        protected=True,
        db_index=True,
    )
    reporter = models.ForeignKey(
        "incidents.Employee",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reported_incidents",
        verbose_name=_("reporter"),
    )
    description = models.TextField(
        _("description"), blank=True, help_text=_("What failed and how; anything the line saw.")
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now, db_index=True)
    stage_entered_at = models.DateTimeField(_("in stage since"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        constraints = [
            models.UniqueConstraint(
                fields=["device"],
                condition=Q(stage__in=OPEN_STAGES),
                name="incident_one_open_per_device",
                violation_error_message=_("This device already has an open incident."),
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | Q(closed_at__gte=F("opened_at")),
                name="incident_closed_after_opened",
                violation_error_message=_("An incident cannot close before it opened."),
            ),
        ]

    def __str__(self) -> str:
        return _("Incident #%(id)s · %(serial)s") % {
            "id": self.pk or "—",
            "serial": self.device.serial_number if self.device_id else "—",
        }

    @property
    def is_open(self) -> bool:
        return self.stage not in TERMINAL_STAGES
