"""Stage deadlines, written: the working calendar administrators keep, and the escalation of
incidents past their deadline.

Escalation (`deadlines_escalate`) tells, once per stage visit and level: at the deadline
(level 1) the assignee and the supervisor who assigned the stage (the owning department's
supervisors while nobody is assigned); a working day later (level 2) the owning department's
supervisors and the administrators. The crossing is written in the same transaction as the
notifications, under a unique constraint: of two workers checking at once, the second waits for
the first and finds the crossing told. The background worker runs it every
DEADLINES_CHECK_SECONDS (`deadlines_watch`, started by `manage.py db_worker`); `manage.py
escalate_deadlines` runs it once.
"""

import datetime
import logging
import threading

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents.choices import Role, TargetUnit, WorkflowAction
from incidents.models import (
    CalendarDay,
    DeadlineCrossing,
    Employee,
    Incident,
    IncidentEvent,
    StageOwnership,
    WorkCalendar,
)
from incidents.models.deadlines import EARLIEST_CALENDAR_DAY, LATEST_CALENDAR_DAY
from incidents.models.stages import MAX_TARGET
from incidents.selectors.deadlines import Deadlines, deadlines_read
from incidents.services.notifications import notify

logger = logging.getLogger(__name__)
LEVEL_ACTIONS = {
    DeadlineCrossing.FIRST: WorkflowAction.OVERDUE,
    DeadlineCrossing.SECOND: WorkflowAction.ESCALATE,
}


# --- the calendar -------------------------------------------------------------------------------
def work_calendar_refusal(*, weekdays: str, day_start, day_end) -> dict[str, str]:
    """Why a working week cannot be saved, by field (empty when it can)."""
    refusals = {}
    if not weekdays or any(day not in "0123456" for day in weekdays):
        refusals["weekdays"] = _("Choose at least one working weekday.")
    if day_start is not None and day_end is not None and not day_start < day_end:
        refusals["day_end"] = _(
            "The working day ends after it starts (%(start)s): day and night shifts over "
            "midnight are not supported."
        ) % {"start": day_start.strftime("%H:%M")}
    return refusals


@transaction.atomic
def work_calendar_save(*, calendar: WorkCalendar) -> WorkCalendar:
    """Save the factory's working week (there is one: it is always number 1)."""
    calendar.pk = 1
    calendar.weekdays = "".join(sorted(set(calendar.weekdays or "")))
    refusals = work_calendar_refusal(
        weekdays=calendar.weekdays, day_start=calendar.day_start, day_end=calendar.day_end
    )
    if refusals:
        raise ValidationError(refusals)
    calendar.full_clean()
    calendar.save()
    return calendar


def calendar_day_refusal(day: datetime.date | None) -> str:
    if day is None:
        return _("Enter a day.")
    if not EARLIEST_CALENDAR_DAY <= day <= LATEST_CALENDAR_DAY:
        return _("The day is not between %(first)s and %(last)s.") % {
            "first": EARLIEST_CALENDAR_DAY.isoformat(),
            "last": LATEST_CALENDAR_DAY.isoformat(),
        }
    return ""


@transaction.atomic
def calendar_day_save(*, day: CalendarDay) -> CalendarDay:
    """Save a holiday or an extra working day."""
    refusal = calendar_day_refusal(day.day)
    if refusal:
        raise ValidationError({"day": refusal})
    day.note = day.note.strip()
    day.full_clean()
    day.save()
    return day


def stage_target_refusal(target: int | None, unit: str | None) -> str:
    """Why a stage's target time cannot be kept ("" when it can: none is no deadline)."""
    if target is None:
        return ""
    if unit not in MAX_TARGET:
        return _("Choose whether the target counts working hours or working days.")
    if not 1 <= target <= MAX_TARGET[unit]:
        return _("A target time is at least 1 and at most a working year: %(max)s %(unit)s.") % {
            "max": MAX_TARGET[unit],
            "unit": TargetUnit(unit).label,
        }
    return ""


# --- escalation ---------------------------------------------------------------------------------
def _administrators() -> list[Employee]:
    admins = Employee.objects.filter(is_active=True).filter(
        Q(is_superuser=True) | Q(groups__in=Group.objects.filter(name=Role.ADMIN))
    )
    return list(admins.distinct().order_by("pk"))


def _assigned_by(incident: Incident) -> Employee | None:
    """Who assigned the incident's current stage visit (its latest assignment in the visit)."""
    event = (
        IncidentEvent.objects.filter(
            incident=incident,
            action=WorkflowAction.ASSIGN,
            created_at__gte=incident.stage_entered_at,
            to_stage=incident.stage,
        )
        .select_related("actor")
        .order_by("-created_at", "-id")
        .first()
    )
    return event.actor if event else None


def _recipients(incident: Incident, level: int) -> list[Employee]:
    ownership = (
        StageOwnership.objects.filter(stage=incident.stage).select_related("department").first()
    )
    supervisors = (
        list(ownership.department.supervisors.filter(is_active=True).order_by("pk"))
        if ownership
        else []
    )
    if level == DeadlineCrossing.SECOND:
        return [*supervisors, *_administrators()]
    assigner = _assigned_by(incident) if incident.assignee_id else None
    if incident.assignee_id:
        return [incident.assignee, assigner] if assigner else [incident.assignee, *supervisors]
    return supervisors


def deadline_cross(*, incident: Incident, level: int, deadline: datetime.datetime) -> bool:
    """Tell the crossing of `level` by the incident's current stage visit, once: False when it
    was told already (by another worker meanwhile), or the incident left that visit."""
    with transaction.atomic():
        current = (
            Incident.objects.select_for_update(of=("self",))
            .select_related("assignee", "device")
            .filter(
                pk=incident.pk, stage=incident.stage, stage_entered_at=incident.stage_entered_at
            )
            .first()
        )
        if current is None or not current.is_open:
            return False
        try:
            with transaction.atomic():
                DeadlineCrossing.objects.create(
                    incident=current,
                    stage=current.stage,
                    stage_entered_at=current.stage_entered_at,
                    level=level,
                    deadline=deadline,
                )
        except IntegrityError:
            return False
        notify(
            incident=current,
            action=LEVEL_ACTIONS[level],
            recipients=_recipients(current, level),
            actor=None,
        )
    return True


def deadlines_escalate(
    *, now: datetime.datetime | None = None, deadlines: Deadlines | None = None
) -> int:
    """Tell every crossing due by `now` that was not told yet; how many were told."""
    now = now or timezone.now()
    deadlines = deadlines or deadlines_read()
    told = 0
    for level in (DeadlineCrossing.FIRST, DeadlineCrossing.SECOND):
        already = DeadlineCrossing.objects.filter(
            incident=OuterRef("pk"),
            stage=OuterRef("stage"),
            stage_entered_at=OuterRef("stage_entered_at"),
            level=level,
        )
        due = (
            Incident.objects.filter(deadlines.past(now, level))
            .filter(closed_at__isnull=True)
            .exclude(Exists(already))
            .order_by("stage_entered_at", "pk")
        )
        for incident in due.iterator(chunk_size=200):
            deadline = deadlines.deadline(incident, level)
            if deadline is None or deadline > now:
                continue
            if deadline_cross(incident=incident, level=level, deadline=deadline):
                told += 1
    return told


def deadlines_watch(
    *, every: float | None = None, stop: threading.Event | None = None
) -> threading.Thread:
    """Run `deadlines_escalate` now and every `every` seconds (DEADLINES_CHECK_SECONDS), in a
    thread of its own of the background worker, until `stop` is set."""
    every = every or settings.DEADLINES_CHECK_SECONDS
    stop = stop or threading.Event()

    def keep_checking():
        while not stop.is_set():
            close_old_connections()
            try:
                deadlines_escalate()
            except Exception:
                logger.exception("Could not check the stage deadlines")
            finally:
                close_old_connections()
            stop.wait(every)
        connection.close()

    thread = threading.Thread(target=keep_checking, name="stage-deadlines", daemon=True)
    thread.start()
    return thread
