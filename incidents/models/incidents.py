from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import (
    RETURN_VALUE,
    ConcurrentTransitionMixin,
    FSMField,
    TransitionNotAllowed,
    transition,
)
from simple_history.models import HistoricalRecords

from incidents import rules
from incidents.choices import (
    NEXT_STAGE,
    OPEN_GROUP_STATUSES,
    OPEN_STAGES,
    TERMINAL_STAGES,
    ProblemGroupStatus,
    Stage,
    Step,
    Verdict,
    stage_can_reach,
)
from locations.fields import CodeField
from locations.visibility import ProjectRowsManager

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
    # When the group was made: the dashboard's "open for" reads it, so no form changes it (an
    # import that knows an older moment may still give one when it creates the group).
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    owner = models.ForeignKey(
        "incidents.Employee",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_problem_groups",
        verbose_name=_("owner"),
        help_text=_("Fills the group's 8D report. Set by a supervisor or an administrator."),
    )
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

    @property
    def takes_incidents(self) -> bool:
        """Open or being investigated: a resolved or closed group takes no more incidents."""
        return self.status in OPEN_GROUP_STATUSES


# How an incident's device failed: each incident its own (the add form, imports and exports, the
# API and the similar-failure features all list these).
FAILURE_FIELDS = ("fail_station", "fail_item", "test_log_url", "failed_at")
# A failure time further back than this before the report is a typing mistake.
MAX_FAILURE_AGE = timedelta(days=365 * 10)


def _is_open(incident) -> bool:
    return incident.is_open


def _has_record_this_round(incident) -> bool:
    return incident.has_record_this_round()


def _has_next_stage(incident) -> bool:
    return incident.next_stage() is not None


class Incident(ConcurrentTransitionMixin, models.Model):
    """A device pulled off the line after failing a test station, and its analysis.

    Two state machines: `stage` walks the failure-analysis graph of DESIGN.md, `step` the small
    cycle inside each stage (unassigned → assigned → submitted → approved | sent back). Both are
    protected: only the transitions below change them, and the services run those atomically.
    """

    project_path = "device__project"

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
    step = FSMField(
        _("step"),
        max_length=16,
        choices=Step.choices,
        default=Step.UNASSIGNED,
        protected=True,
        db_index=True,
    )
    assignee = models.ForeignKey(
        "incidents.Employee",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_incidents",
        verbose_name=_("assignee"),
    )
    stage_round = models.PositiveSmallIntegerField(
        _("round"), default=1, help_text=_("Goes up each time the stage is sent back.")
    )
    reporter = models.ForeignKey(
        "incidents.Employee",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reported_incidents",
        verbose_name=_("reporter"),
    )
    # An incident the line opened by itself (repeated failures at a station): the token its
    # station reported with. Its timeline and page say "Line · <token>" where a person is named.
    reported_by_token = models.ForeignKey(
        "incidents.ApiToken",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reported_incidents",
        verbose_name=_("reported by the line's token"),
    )
    description = models.TextField(
        _("description"), blank=True, help_text=_("What failed and how; anything the line saw.")
    )
    # The failure that opened it: each incident its own, as the device may fail again later.
    fail_station = models.CharField(_("fail station"), max_length=100, blank=True)
    fail_item = models.CharField(
        _("fail item"), max_length=200, blank=True, help_text=_("The failure mode, e.g. BT_RSSI.")
    )
    test_log_url = models.CharField(
        _("test log link"), max_length=500, blank=True, help_text=_("URL or share path.")
    )
    failed_at = models.DateTimeField(
        _("failed at"),
        null=True,
        blank=True,
        help_text=_("When the device failed at the station; left empty, when it was reported."),
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now, db_index=True)
    stage_entered_at = models.DateTimeField(_("in stage since"), default=timezone.now)
    # False when nobody knows when the incident entered its stage: the legacy workbook gives
    # only the day it was registered, so an incident imported past its first stage (or moved on
    # by a later workbook) has no age in its stage until it really changes stage in the product.
    stage_entered_known = models.BooleanField(
        _("time entered stage known"),
        default=True,
        db_default=True,
        help_text=_("Unset for incidents imported without the time they entered their stage."),
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    history = HistoricalRecords()

    objects = ProjectRowsManager()

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
            models.CheckConstraint(
                condition=Q(failed_at__isnull=True) | Q(failed_at__lte=F("opened_at")),
                name="incident_failed_before_opened",
                violation_error_message=_(
                    "A device fails before its incident is reported: the failure time cannot be "
                    "later than the time the incident was opened."
                ),
            ),
        ]
        indexes = [
            # The dashboard's Paretos and its drill-down links, the list filtered by a failure.
            models.Index(fields=["fail_item", "fail_station"], name="incident_failure"),
            models.Index(fields=["fail_station"], name="incident_fail_station"),
            # "Seen before": the most recent incidents of a failure, and of a fail item.
            models.Index(
                fields=["fail_item", "fail_station", "opened_at"], name="incident_same_failure"
            ),
            models.Index(fields=["fail_item", "opened_at"], name="incident_same_item"),
            # The open problem groups suggested for an incident: its failure's open incidents
            # by group (the few of one failure, not every open incident of the groups).
            models.Index(
                fields=["fail_item", "fail_station", "problem_group"],
                condition=Q(stage__in=OPEN_STAGES),
                name="incident_open_failure",
            ),
            # The dashboard's figures of how incidents end read the period's closed incidents.
            models.Index(fields=["closed_at"], name="incident_closed_at"),
            # The dashboard's oldest open incidents: the first few in the order they entered
            # their stage, instead of sorting every open incident.
            models.Index(
                fields=["stage_entered_at", "id"],
                condition=Q(stage__in=OPEN_STAGES),
                name="incident_open_by_stage_entry",
            ),
            # The list sorted by time in stage or by deadline, open and closed incidents alike.
            models.Index(fields=["stage_entered_at"], name="incident_stage_entry"),
        ]

    def __str__(self) -> str:
        # Without the word "incident": pages and messages put the model's name before it.
        serial = self.device.serial_number if self.device_id else "—"
        return f"#{self.pk or '—'} · {serial}"

    def clean(self) -> None:
        super().clean()
        opened = self.opened_at or timezone.now()
        if self.failed_at and self.failed_at < opened - MAX_FAILURE_AGE:
            raise ValidationError(
                {
                    "failed_at": _(
                        "The failure time is more than %(years)s years before the incident "
                        "was opened; check the date."
                    )
                    % {"years": MAX_FAILURE_AGE.days // 365}
                }
            )

    @property
    def is_open(self) -> bool:
        return self.stage not in TERMINAL_STAGES

    def has_record_this_round(self) -> bool:
        return self.operation_records.filter(stage=self.stage, round=self.stage_round).exists()

    def latest_verdict(self) -> Verdict | None:
        """The verdict of the newest analysis result of the current stage and round, if any: a
        verdict from a round that was sent back no longer decides."""
        result = (
            self.analysis_results.filter(stage=self.stage, round=self.stage_round)
            .exclude(verdict="")
            .order_by("-created_at", "-id")
            .first()
        )
        return Verdict(result.verdict) if result else None

    def next_stage(self) -> Stage | None:
        """Where approval would send the incident now; None while a verdict is missing."""
        verdict = self.latest_verdict() if rules.needs_verdict(self) else None
        return NEXT_STAGE.get((self.stage, verdict))

    # --- transitions inside a stage -----------------------------------------------------------
    @transition(
        field=step,
        source=[Step.UNASSIGNED, Step.ASSIGNED],
        target=Step.ASSIGNED,
        conditions=[_is_open],
        permission=rules.is_stage_supervisor,
    )
    def assign(self, *, assignee) -> None:
        self.assignee = assignee

    @transition(
        field=step,
        source=Step.ASSIGNED,
        target=Step.SUBMITTED,
        conditions=[_is_open, _has_record_this_round],
        permission=rules.is_assignee,
    )
    def submit(self) -> None:
        pass

    @transition(
        field=step,
        source=Step.SUBMITTED,
        target=Step.ASSIGNED,
        conditions=[_is_open],
        permission=rules.can_review,
    )
    def reject(self) -> None:
        self.stage_round += 1

    @transition(
        field=step,
        source=[Step.ASSIGNED, Step.SUBMITTED],
        target=RETURN_VALUE(Step.ASSIGNED, Step.SUBMITTED, Step.UNASSIGNED),
        conditions=[_is_open],
        permission=rules.can_hand_over,
    )
    def hand_over(self, *, assignee) -> Step:
        """The assignee leaves: `assignee` takes the stage as it stands (in progress or waiting
        for review), or with None it goes back to the queue of the department that owns it."""
        self.assignee = assignee
        return self.step if assignee is not None else Step.UNASSIGNED

    @transition(field=step, source="*", target=RETURN_VALUE(Step.UNASSIGNED, Step.CLOSED))
    def _start_stage(self, *, closing: bool) -> Step:
        return Step.CLOSED if closing else Step.UNASSIGNED

    # --- transitions between stages -----------------------------------------------------------
    @transition(
        field=stage,
        source=sorted({source for source, _verdict in NEXT_STAGE}),
        target=RETURN_VALUE(*Stage.values),
        conditions=[lambda incident: incident.step == Step.SUBMITTED, _has_next_stage],
        permission=rules.can_review,
    )
    def approve(self) -> Stage:
        next_stage = self.next_stage()
        self._enter_stage(next_stage)
        return next_stage

    @transition(
        field=stage,
        source=OPEN_STAGES,
        target=Stage.CANCELLED,
        permission=rules.can_cancel,
    )
    def cancel(self) -> None:
        self._enter_stage(Stage.CANCELLED)

    @transition(
        field=stage, source=OPEN_STAGES, target=RETURN_VALUE(*Stage.values), conditions=[_is_open]
    )
    def import_stage(self, *, stage: Stage) -> Stage:
        """A newer legacy workbook moved the incident on; the import follows it. Only forwards,
        along the workflow: never back, and a closed incident is never reopened (its source)."""
        if not stage_can_reach(self.stage, stage):
            raise TransitionNotAllowed(
                f"a legacy stage move goes forwards only: {self.stage} cannot become {stage}",
                object=self,
                method=self.import_stage,
            )
        self._enter_stage(stage)
        # The workbook says the stage, not when it was entered (some time before the import).
        self.stage_entered_known = False
        return stage

    def _enter_stage(self, stage: Stage) -> None:
        now = timezone.now()
        closing = stage in TERMINAL_STAGES
        self._start_stage(closing=closing)
        self.assignee = None
        self.stage_round = 1
        self.stage_entered_at = now
        self.stage_entered_known = True
        self.closed_at = now if closing else None
