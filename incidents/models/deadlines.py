"""Stage deadlines: the factory's working calendar (one, administrators keep it), its days off
and extra working days, and the deadline crossings already told (so none is told twice). The
target time of each stage is kept on its ownership (incidents.StageOwnership.target)."""

import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.choices import Stage
from locations.visibility import ProjectRowsManager

# The calendar's days an administrator may name: the product's working life, no further.
EARLIEST_CALENDAR_DAY = datetime.date(2000, 1, 1)
LATEST_CALENDAR_DAY = datetime.date(2100, 12, 31)
DEFAULT_WEEKDAYS = "01234"
DEFAULT_START = datetime.time(8, 30)
DEFAULT_END = datetime.time(17, 30)


class WorkCalendar(models.Model):
    """The factory's working week: its working weekdays and hours (there is one)."""

    # Monday is 0: "01234" is Monday to Friday.
    weekdays = models.CharField(_("working weekdays"), max_length=7, default=DEFAULT_WEEKDAYS)
    day_start = models.TimeField(_("working day starts at"), default=DEFAULT_START)
    day_end = models.TimeField(_("working day ends at"), default=DEFAULT_END)

    class Meta:
        ordering = ["id"]
        verbose_name = _("working calendar")
        verbose_name_plural = _("working calendar")
        constraints = [
            models.CheckConstraint(
                condition=Q(id=1),
                name="work_calendar_single",
                violation_error_message=_("The factory has one working calendar."),
            ),
            models.CheckConstraint(
                condition=Q(day_start__lt=models.F("day_end")),
                name="work_calendar_day_order",
                violation_error_message=_("A working day ends after it starts."),
            ),
        ]

    def __str__(self) -> str:
        return str(_("Working calendar"))


class CalendarDay(models.Model):
    """A day the working week does not tell: a holiday, or a working day on a day off."""

    day = models.DateField(_("day"), unique=True)
    working = models.BooleanField(
        _("working day"),
        default=False,
        help_text=_(
            "Ticked: the factory works this day although it is not a working weekday (a "
            "weekend made up for a holiday). Not ticked: a holiday."
        ),
    )
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("holidays and extra working days")
        constraints = [
            models.CheckConstraint(
                condition=Q(day__gte=EARLIEST_CALENDAR_DAY, day__lte=LATEST_CALENDAR_DAY),
                name="calendar_day_in_range",
                violation_error_message=_("The day is not between 2000 and 2100."),
            ),
        ]

    def __str__(self) -> str:
        kind = _("working day") if self.working else _("holiday")
        return f"{self.day.isoformat()} · {kind}"


class DeadlineCrossing(models.Model):
    """An incident's stage visit that went past its deadline (level 1) or past it by a working
    day more (level 2), told once: the row is written in the same transaction as the
    notifications, and its uniqueness stops a second writer."""

    project_path = "incident__device__project"

    FIRST, SECOND = 1, 2

    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.CASCADE,
        related_name="deadline_crossings",
        verbose_name=_("incident"),
    )
    stage = models.CharField(_("stage"), max_length=32, choices=Stage.choices)
    # A stage visit is told by when it began: a new visit of the same stage is a new crossing.
    stage_entered_at = models.DateTimeField(_("in stage since"))
    level = models.PositiveSmallIntegerField(_("level"))
    deadline = models.DateTimeField(_("deadline"))
    created_at = models.DateTimeField(_("told at"), default=timezone.now)

    objects = ProjectRowsManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("deadline crossing")
        verbose_name_plural = _("deadline crossings")
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "stage", "stage_entered_at", "level"],
                name="deadline_crossing_once",
                violation_error_message=_("This crossing was already told."),
            ),
            models.CheckConstraint(
                condition=Q(level__in=[1, 2]),
                name="deadline_crossing_level",
                violation_error_message=_("A crossing is of level 1 or 2."),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.incident_id} · {self.get_stage_display()} · {self.level}"
