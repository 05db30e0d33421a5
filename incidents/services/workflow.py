"""The workflow transitions, each run atomically on a locked incident row.

Every function takes the person acting (`by`) and, optionally, the (stage, step) they saw when
they clicked (`expected`): if someone else changed the incident meanwhile, they are told so
instead of acting on a state they never saw.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import TransitionNotAllowed, has_transition_perm

from config.kit.bulk import history_write, objects_create
from config.kit.updates import apply_changes, changes_to
from incidents import reasons, rules, selectors
from incidents.choices import (
    TERMINAL_STAGES,
    EventNote,
    Stage,
    Step,
    WorkflowAction,
    stage_can_reach,
)
from incidents.models import Employee, Incident, IncidentEvent, ProblemGroup
from incidents.services.errors import IncidentChanged, WorkflowError
from incidents.services.notifications import notify
from incidents.services.visits import visit_ends_write
from incidents.services.webhooks import incident_event_outbox
from incidents.signals import incident_event_on_commit
from locations.choices import IMPORT_REASON
from locations.models import Device
from locations.services import device_move

Expected = tuple[str, str] | None


def lock_incident(incident: Incident | int, expected: Expected = None) -> Incident:
    """The incident, re-read under a row lock so concurrent transitions run one after another."""
    pk = incident.pk if isinstance(incident, Incident) else incident
    locked = Incident.objects.select_for_update(of=("self",)).select_related("device").get(pk=pk)
    if expected is not None and (locked.stage, locked.step) != tuple(expected):
        raise IncidentChanged(
            _(
                "Incident #%(id)s changed while you were looking at it: it is now %(stage)s, "
                "%(step)s. Nothing was done; reload and try again."
            )
            % {"id": pk, "stage": locked.get_stage_display(), "step": locked.get_step_display()}
        )
    return locked


def check_allowed(incident: Incident, action: WorkflowAction, by: Employee) -> None:
    reason = rules.refusal(incident, action, by)
    if reason:
        raise WorkflowError(reason)


def _run(incident: Incident, transition: str, by: Employee, **kwargs) -> None:
    """Run a model transition; the rules were checked already, the FSM checks them again."""
    method = getattr(incident, transition)
    if not has_transition_perm(method, by):
        raise WorkflowError(
            _("This action is not allowed on incident #%(id)s now.") % {"id": incident.pk}
        )
    try:
        method(**kwargs)
    except TransitionNotAllowed as error:
        raise WorkflowError(str(error)) from error
    incident.save()


def event_build(
    incident: Incident,
    action: WorkflowAction,
    by: Employee | None,
    before: tuple[str, str],
    comment: str = "",
    assignee: Employee | None = None,
    at: datetime | None = None,
    *,
    verdict: str = "",
    note: EventNote | str = "",
) -> IncidentEvent:
    """A timeline entry for what just happened to `incident`, not saved yet (bulk writers save
    many at once). `comment` holds people's words only; what the system says goes in as codes
    (`verdict`, `note`), shown in each reader's language."""
    return IncidentEvent(
        created_at=at or timezone.now(),
        incident=incident,
        action=action,
        actor=by,
        from_stage=before[0],
        from_step=before[1],
        to_stage=incident.stage,
        to_step=incident.step,
        assignee=assignee,
        comment=comment,
        verdict=verdict,
        note=note,
    )


def log_event(
    incident: Incident,
    action: WorkflowAction,
    by: Employee | None,
    before: tuple[str, str],
    comment: str = "",
    assignee: Employee | None = None,
    at: datetime | None = None,
    *,
    verdict: str = "",
    note: EventNote | str = "",
) -> IncidentEvent:
    event = event_build(
        incident, action, by, before, comment, assignee, at, verdict=verdict, note=note
    )
    event.save()
    if event.changed_stage:
        visit_ends_write([incident.pk])
    return event


def announce(event: IncidentEvent, files: list[str] = ()) -> None:
    """The webhooks' deliveries of the change are written now, in its transaction (the outbox);
    once it has committed, whoever listens is told (incidents.signals: the dashboard counts
    again, the chat tells it in the incident's room and refreshes its open pages). A rolled-back
    change tells nothing, and a failure to tell never fails the change."""
    incident_event_outbox(event)
    incident_event_on_commit(event, files=files)


def _required(text: str, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise WorkflowError(_("Please give a %(what)s.") % {"what": what})
    return text


@transaction.atomic
def incident_assign(
    *,
    incident: Incident,
    assignee: Employee,
    by: Employee,
    comment: str = "",
    expected: Expected = None,
    hand_over_device: bool = False,
) -> Incident:
    """A supervisor of the owning department gives the stage to one of its people; with
    `hand_over_device` the assignee also becomes the device's holder (kept in its trail)."""
    incident = lock_incident(incident, expected)
    check_allowed(incident, WorkflowAction.ASSIGN, by)
    reason = rules.assignment_refusal(incident, assignee)
    if reason:
        raise WorkflowError(reason)
    before = (incident.stage, incident.step)
    _run(incident, "assign", by, assignee=assignee)
    announce(log_event(incident, WorkflowAction.ASSIGN, by, before, comment, assignee=assignee))
    if hand_over_device and incident.device.holder_id != assignee.pk:
        device_move(
            device=incident.device,
            moved_by=by,
            holder=assignee,
            reason=reasons.assigned(incident.stage),
        )
    notify(
        incident=incident,
        action=WorkflowAction.ASSIGN,
        recipients=[assignee],
        actor=by,
        comment=comment,
    )
    return incident


@transaction.atomic
def incident_submit(
    *, incident: Incident, by: Employee, comment: str = "", expected: Expected = None
) -> Incident:
    """The assignee hands the stage's records and results to the supervisors for review."""
    incident = lock_incident(incident, expected)
    check_allowed(incident, WorkflowAction.SUBMIT, by)
    before = (incident.stage, incident.step)
    _run(incident, "submit", by)
    announce(
        log_event(incident, WorkflowAction.SUBMIT, by, before, comment, assignee=incident.assignee)
    )
    department = rules.stage_owner(incident.stage)
    notify(
        incident=incident,
        action=WorkflowAction.SUBMIT,
        recipients=list(department.supervisors.all()),
        actor=by,
        comment=comment,
    )
    return incident


@transaction.atomic
def incident_approve(
    *, incident: Incident, by: Employee, comment: str = "", expected: Expected = None
) -> Incident:
    """A supervisor accepts the stage; the verdict of its latest analysis picks the next one."""
    incident = lock_incident(incident, expected)
    check_allowed(incident, WorkflowAction.APPROVE, by)
    before = (incident.stage, incident.step)
    worked_by = incident.assignee
    _run(incident, "approve", by)
    announce(log_event(incident, WorkflowAction.APPROVE, by, before, comment, assignee=worked_by))
    recipients = [worked_by]
    if incident.is_open:
        next_department = rules.stage_owner(incident.stage)
        recipients += list(next_department.supervisors.all()) if next_department else []
    else:
        recipients.append(incident.reporter)
    notify(
        incident=incident,
        action=WorkflowAction.APPROVE,
        recipients=recipients,
        actor=by,
        comment=comment,
    )
    return incident


@transaction.atomic
def incident_reject(
    *, incident: Incident, by: Employee, reason: str, expected: Expected = None
) -> Incident:
    """A supervisor sends the stage back to its assignee with a reason."""
    reason = _required(reason, _("reason for sending it back"))
    incident = lock_incident(incident, expected)
    check_allowed(incident, WorkflowAction.REJECT, by)
    before = (incident.stage, incident.step)
    _run(incident, "reject", by)
    announce(
        log_event(incident, WorkflowAction.REJECT, by, before, reason, assignee=incident.assignee)
    )
    notify(
        incident=incident,
        action=WorkflowAction.REJECT,
        recipients=[incident.assignee],
        actor=by,
        comment=reason,
    )
    return incident


@transaction.atomic
def incident_hand_over(
    *,
    incident: Incident,
    to: Employee | None,
    by: Employee,
    note: EventNote | str = EventNote.ASSIGNEE_MOVED,
) -> Incident:
    """The assignee leaves the department: `to` takes the stage as it stands (in progress or
    waiting for review, its records kept), or with None it goes back to the queue of the
    department that owns it. On the timeline, and `to` is told as of an assignment."""
    incident = lock_incident(incident)
    reason = rules.hand_over_refusal(incident, by)
    if reason is None and to is not None:
        reason = rules.assignment_refusal(incident, to)
    if reason:
        raise WorkflowError(reason)
    before = (incident.stage, incident.step)
    worked_by = incident.assignee
    _run(incident, "hand_over", by, assignee=to)
    action = WorkflowAction.ASSIGN if to is not None else WorkflowAction.UNASSIGN
    announce(log_event(incident, action, by, before, assignee=to or worked_by, note=note))
    if to is not None:
        notify(incident=incident, action=WorkflowAction.ASSIGN, recipients=[to], actor=by)
    return incident


@transaction.atomic
def incident_cancel(
    *, incident: Incident, by: Employee, reason: str, expected: Expected = None
) -> Incident:
    """A supervisor of the owning department or an admin closes the incident for good."""
    reason = _required(reason, _("reason for cancelling"))
    incident = lock_incident(incident, expected)
    check_allowed(incident, WorkflowAction.CANCEL, by)
    before = (incident.stage, incident.step)
    worked_by = incident.assignee
    department = rules.stage_owner(incident.stage)
    _run(incident, "cancel", by)
    announce(log_event(incident, WorkflowAction.CANCEL, by, before, reason, assignee=worked_by))
    supervisors = list(department.supervisors.all()) if department else []
    notify(
        incident=incident,
        action=WorkflowAction.CANCEL,
        recipients=[worked_by, incident.reporter, *supervisors],
        actor=by,
        comment=reason,
    )
    return incident


# Passed for a detail that should stay as it is.
UNCHANGED = object()
INCIDENT_DETAIL_FIELDS = (
    "description",
    "problem_group",
    "fail_station",
    "fail_item",
    "test_log_url",
    "failed_at",
)


@transaction.atomic
def incident_update(
    *,
    incident: Incident,
    by: Employee,
    description=UNCHANGED,
    problem_group=UNCHANGED,
    fail_station=UNCHANGED,
    fail_item=UNCHANGED,
    test_log_url=UNCHANGED,
    failed_at=UNCHANGED,
    reason: str | None = None,
) -> Incident:
    """Change an incident's details (description, problem group, its failure) and nothing else:
    the row is re-read under its lock and only the changed details are written, so a transition
    made at the same moment is never undone. Recorded on the timeline and in the history."""
    refusal = rules.incident_edit_refusal(incident, by)
    if refusal is None:
        incident = lock_incident(incident)
        # As it is now: it may have closed since the caller read it.
        refusal = rules.incident_edit_refusal(incident, by)
    if refusal:
        raise WorkflowError(refusal)
    wanted = {
        "description": description,
        "problem_group": problem_group,
        "fail_station": fail_station,
        "fail_item": fail_item,
        "test_log_url": test_log_url,
        "failed_at": failed_at,
    }
    changes = changes_to(
        incident, {name: value for name, value in wanted.items() if value is not UNCHANGED}
    )
    if not changes:
        return incident
    changed = apply_changes(incident, changes)
    incident.full_clean(exclude=["stage", "step", "device", "reporter", "assignee"])
    incident._history_user = by
    if reason:
        incident._change_reason = reason
    incident.save(update_fields=changed)
    state = (incident.stage, incident.step)
    log_event(incident, WorkflowAction.EDIT, by, state, assignee=incident.assignee)
    return incident


def incident_set_problem_group(
    *, incident: Incident, problem_group: ProblemGroup | None, by: Employee
) -> Incident:
    """Join (or with None, leave) a problem group; closed incidents keep theirs."""
    return incident_update(incident=incident, by=by, problem_group=problem_group)


def problem_group_get_or_create(*, number: str, title: str = "") -> ProblemGroup:
    group, _created = ProblemGroup.objects.get_or_create(
        number=number.strip(), defaults={"title": title}
    )
    return group


def incident_build(
    *,
    device: Device,
    reporter: Employee | None,
    description: str = "",
    problem_group: ProblemGroup | None = None,
    opened_at: datetime | None = None,
    stage: Stage = Stage.REPORTED,
    fail_station: str = "",
    fail_item: str = "",
    test_log_url: str = "",
    failed_at: datetime | None = None,
) -> Incident:
    """A new incident as opening makes it, not saved yet (bulk writers save many at once), with
    the failure that opened it; it failed when it opened unless `failed_at` says otherwise.

    `stage` other than `reported` is for bringing in records that already progressed
    elsewhere (legacy imports, demo data); the workflow moves incidents on from there.
    """
    opened_at = opened_at or timezone.now()
    closing = stage in TERMINAL_STAGES
    return Incident(
        device=device,
        reporter=reporter,
        description=description,
        problem_group=problem_group,
        fail_station=(fail_station or "").strip(),
        fail_item=(fail_item or "").strip(),
        test_log_url=(test_log_url or "").strip(),
        failed_at=failed_at or opened_at,
        opened_at=opened_at,
        stage_entered_at=opened_at,
        stage=Stage(stage),
        step=Step.CLOSED if closing else Step.UNASSIGNED,
        closed_at=opened_at if closing else None,
    )


def opening_event_build(
    incident: Incident, by: Employee | None, comment: str = "", *, note: EventNote | str = ""
):
    """The first entry of a new incident's timeline, at the moment it was opened."""
    state = (incident.stage, incident.step)
    return event_build(
        incident, WorkflowAction.OPEN, by, state, comment, at=incident.opened_at, note=note
    )


@transaction.atomic
def incident_open(
    *,
    device: Device,
    reporter: Employee | None,
    description: str = "",
    problem_group: ProblemGroup | None = None,
    opened_at: datetime | None = None,
    stage: Stage = Stage.REPORTED,
    reason: str | None = None,
    fail_station: str = "",
    fail_item: str = "",
    test_log_url: str = "",
    failed_at: datetime | None = None,
) -> Incident:
    """Open an incident for a device that has none open, with the failure that opened it (see
    `incident_build` for `stage`)."""
    # Lock the device so two people opening an incident for it at once cannot both succeed.
    Device.objects.select_for_update().filter(pk=device.pk).exists()
    if device.incidents.exclude(stage__in=TERMINAL_STAGES).exists():
        raise WorkflowError(
            _("Device %(serial)s already has an open incident.") % {"serial": device.serial_number}
        )
    incident = incident_build(
        device=device,
        reporter=reporter,
        description=description,
        problem_group=problem_group,
        opened_at=opened_at,
        stage=stage,
        fail_station=fail_station,
        fail_item=fail_item,
        test_log_url=test_log_url,
        failed_at=failed_at,
    )
    # Stage and step are protected (only transitions change them); validate the rest.
    incident.full_clean(exclude=["stage", "step"])
    incident._history_user = reporter
    if reason:
        incident._change_reason = reason
    incident.save()
    opening = opening_event_build(incident, reporter)
    opening.save()
    # Not told in the room (nothing happened there yet); open dashboards count again.
    announce(opening)
    return incident


@transaction.atomic
def incidents_import(
    *,
    groups: list[ProblemGroup] = (),
    created: list[Incident] = (),
    changed: list[tuple[Incident, list[str]]] = (),
    by: Employee | None,
    note: EventNote | str = EventNote.LEGACY_IMPORT,
) -> None:
    """Bring incidents in from a workbook in bulk (the legacy import): new ones built with
    `incident_build`, each with its history entry and the opening entry of its timeline at the
    moment it was opened (one device has one open incident: the database refuses a second);
    and changes of details (`INCIDENT_DETAIL_FIELDS`) of known ones, refused (WorkflowError) as
    `incident_import_refusal` says when they were worked on in the product since; new problem
    groups they join first. Stages move through `incident_import_stage`."""
    for _incident, fields in changed:
        unknown = set(fields) - set(INCIDENT_DETAIL_FIELDS)
        if unknown:
            raise ValueError(f"not details of an incident: {sorted(unknown)}")
    # As stored, locked: the instances given carry the changes already.
    stored = Incident.objects.select_for_update(of=("self",)).filter(
        pk__in=[incident.pk for incident, _fields in changed]
    )
    worked = selectors.incidents_worked_in_product(list(stored))
    for incident, _fields in changed:
        refusal = incident_import_refusal(
            incident=incident, stage=None, worked_in_product=incident.pk in worked
        )
        if refusal:
            raise WorkflowError(refusal)
    for incident in created:
        incident._history_user = getattr(incident, "_history_user", None) or by
        if not getattr(incident, "_change_reason", None):
            incident._change_reason = IMPORT_REASON
    for group in groups:
        group.full_clean(exclude=["created_at"])
    ProblemGroup.objects.bulk_create(groups)
    objects_create(Incident, created)
    history_write(Incident, created, "+")
    objects_create(
        IncidentEvent, [opening_event_build(incident, by, note=note) for incident in created]
    )
    for incident, fields in changed:
        incident._history_user = by
        incident._change_reason = IMPORT_REASON
        incident.save(update_fields=fields)


def incident_import_refusal(
    *, incident: Incident, stage: Stage | None, worked_in_product: bool
) -> str | None:
    """Why a legacy workbook may no longer change the incident (move it to `stage`, or with
    None change its details); None when it may. After cut-over the product is the source of
    truth: a workbook never overrides work done in the product, never reopens a closed
    incident and never moves one backwards."""
    context = {"id": incident.pk, "stage": incident.get_stage_display()}
    if worked_in_product:
        return (
            _(
                "incident #%(id)s was worked on in the product since it was imported (it is "
                "%(stage)s); the workbook no longer changes it"
            )
            % context
        )
    if stage is None or stage == incident.stage:
        return None
    context["wanted"] = Stage(stage).label
    if incident.stage in TERMINAL_STAGES:
        return _("incident #%(id)s is closed (%(stage)s); the workbook cannot reopen it") % (
            context
        )
    if not stage_can_reach(incident.stage, stage):
        return (
            _(
                "incident #%(id)s is already %(stage)s; the workbook's %(wanted)s would move "
                "it backwards"
            )
            % context
        )
    return None


@transaction.atomic
def incident_import_stage(*, incident: Incident, stage: Stage, by: Employee | None) -> Incident:
    """Follow a newer legacy workbook that has the incident in another stage, on the timeline.
    Refused (WorkflowError) as `incident_import_refusal` says, whoever calls it."""
    incident = lock_incident(incident)
    worked = incident.pk in selectors.incidents_worked_in_product([incident])
    refusal = incident_import_refusal(incident=incident, stage=stage, worked_in_product=worked)
    if refusal:
        raise WorkflowError(refusal)
    if incident.stage == stage:
        return incident
    before = (incident.stage, incident.step)
    try:
        incident.import_stage(stage=Stage(stage))
    except TransitionNotAllowed as error:
        raise WorkflowError(str(error)) from error
    incident._history_user = by
    incident._change_reason = IMPORT_REASON
    incident.save()
    log_event(incident, WorkflowAction.IMPORT, by, before, note=EventNote.LEGACY_STAGE)
    return incident
