"""Who may do what to an incident, and why not — the one place these rules live.

The model's transitions use the predicates as their permissions and conditions; services call
`refusal()` before running a transition so a refused user is told why in words; the admin asks the
same questions to decide which buttons to show and whom to offer for an assignment.
"""

from datetime import datetime, timedelta
from functools import cached_property

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents import access
from incidents.choices import OPEN_STAGES, STAGE_VERDICTS, Step, Verdict, WorkflowAction

# The model modules themselves, not the package: incidents.models.incidents asks these rules of
# its transitions, and these modules import nothing that asks them.
from incidents.models.events import IncidentEvent
from incidents.models.people import Employee
from incidents.models.records import AnalysisResult, OperationRecord
from incidents.models.stages import StageOwnership
from locations.signals import (
    MOVE_REASON_NEEDED,
    MOVE_REFUSED,
    device_moving,
    device_serial_correcting,
)


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


class Facts:
    """What the rules read from the database to answer about one person, each read once.

    Every predicate below takes one as `facts`. A page that asks many questions (the row menus
    of a list, the buttons of an incident page) passes the same one to all of them, so it reads
    who owns the stages, which stages the person supervises and whether they administer once,
    not once a question; the verdicts of `incidents` are read together the first time one of
    them is asked for. A `Facts` does not see what changes after it read: it is for one page
    being put together. Without one, each question reads afresh.
    """

    def __init__(self, user, incidents=()):
        self.user = user
        self._incidents = {incident.pk: incident for incident in incidents}

    @cached_property
    def owners(self) -> dict:
        """The department owning each stage that has one."""
        ownerships = StageOwnership.objects.select_related("department")
        return {ownership.stage: ownership.department for ownership in ownerships}

    @cached_property
    def supervised_stages(self) -> frozenset[str]:
        """The stages owned by a department the person supervises."""
        if not _active(self.user):
            return frozenset()
        stages = StageOwnership.objects.filter(department__supervisors=self.user)
        return frozenset(stages.values_list("stage", flat=True))

    @cached_property
    def is_admin(self) -> bool:
        return _active(self.user) and self.user.is_admin

    @cached_property
    def is_supervisor(self) -> bool:
        return _active(self.user) and self.user.supervised_departments.exists()

    def worked_the_round(self, incident) -> bool:
        """`worked_the_round(incident, user)`, read with those of the other incidents given."""
        if incident.pk not in self._incidents:
            return _worked_rounds(self.user, [incident]) == {incident.pk}
        return incident.pk in self._worked

    @cached_property
    def _worked(self) -> set[int]:
        waiting = [i for i in self._incidents.values() if i.step == Step.SUBMITTED]
        return _worked_rounds(self.user, waiting) if waiting else set()

    def latest_verdict(self, incident) -> Verdict | None:
        """`incident.latest_verdict()`, read with those of the other incidents given."""
        if incident.pk not in self._incidents:
            return incident.latest_verdict()
        return self._verdicts.get(incident.pk)

    @cached_property
    def _verdicts(self) -> dict[int, Verdict]:
        rounds = Q()
        for incident in self._incidents.values():
            if needs_verdict(incident):
                rounds |= Q(
                    incident_id=incident.pk, stage=incident.stage, round=incident.stage_round
                )
        if not rounds:
            return {}
        results = (
            AnalysisResult.objects.filter(rounds)
            .exclude(verdict="")
            .order_by("created_at", "id")
            .values_list("incident_id", "verdict")
        )
        # Oldest first: each incident keeps the verdict of its newest result.
        return {incident_id: Verdict(verdict) for incident_id, verdict in results}


def _worked_rounds(user, incidents) -> set[int]:
    """Of `incidents`, those whose current round `user` worked on: wrote one of its operation
    records or analysis results, or assigned it to themself (and no send-back started a new
    round since). One query, whatever the number of incidents."""
    from django.db.models import Exists, OuterRef

    if not _active(user) or not incidents:
        return set()
    rounds, visits = Q(), Q()
    for incident in incidents:
        rounds |= Q(incident_id=incident.pk, stage=incident.stage, round=incident.stage_round)
        visits |= Q(
            incident_id=incident.pk,
            to_stage=incident.stage,
            created_at__gte=incident.stage_entered_at,
        )
    records, results = (
        model.objects.filter(rounds, created_by=user)
        .order_by()
        .values_list("incident_id", flat=True)
        for model in (OperationRecord, AnalysisResult)
    )
    sent_back_since = IncidentEvent.objects.filter(
        incident_id=OuterRef("incident_id"),
        action=WorkflowAction.REJECT,
        to_stage=OuterRef("to_stage"),
        created_at__gt=OuterRef("created_at"),
    )
    self_assigned = (
        IncidentEvent.objects.filter(
            visits, action=WorkflowAction.ASSIGN, actor=user, assignee=user
        )
        .exclude(Exists(sent_back_since))
        .order_by()
        .values_list("incident_id", flat=True)
    )
    # One query for the three (unordered: SQLite orders no part of a UNION).
    return set(records.union(results, self_assigned))


def worked_the_round(incident, user, facts: Facts | None = None) -> bool:
    """Four eyes: whether `user` wrote a record or result of the incident's current round, or
    assigned the round to themself; such a person never approves it."""
    return (facts or Facts(user)).worked_the_round(incident)


def stage_owner(stage: str, facts: Facts | None = None):
    """The department owning `stage`, or None if no department owns it."""
    return (facts or Facts(None)).owners.get(stage)


def is_admin(user, facts: Facts | None = None) -> bool:
    return (facts or Facts(user)).is_admin


def is_supervisor(user, facts: Facts | None = None) -> bool:
    """Supervises at least one department."""
    return (facts or Facts(user)).is_supervisor


def is_stage_supervisor(incident, user, facts: Facts | None = None) -> bool:
    """A supervisor of the department that owns the incident's current stage."""
    return incident.stage in (facts or Facts(user)).supervised_stages


def can_review(incident, user, facts: Facts | None = None) -> bool:
    """Approves or sends back: a supervisor of the owning department, or an administrator."""
    facts = facts or Facts(user)
    return is_stage_supervisor(incident, user, facts) or is_admin(user, facts)


def may_review_any(user, facts: Facts | None = None) -> bool:
    """Whether the review actions are worth offering to this person at all."""
    facts = facts or Facts(user)
    return is_supervisor(user, facts) or is_admin(user, facts)


def is_assignee(incident, user) -> bool:
    return _active(user) and incident.assignee_id is not None and incident.assignee_id == user.pk


def can_cancel(incident, user, facts: Facts | None = None) -> bool:
    facts = facts or Facts(user)
    return is_admin(user, facts) or is_stage_supervisor(incident, user, facts)


# Who takes sight of a project away from people (restricts it) hands their work in it back.
_RESTRICTS_PROJECTS = ("incidents.add_projectaccess", "incidents.change_projectaccess")


def can_hand_over(incident, user) -> bool:
    """Gives an assignee's stage to someone else as it stands, when the assignee leaves the
    department or loses sight of the project: whoever moves people between departments or
    restricts projects, a supervisor of the stage, an administrator."""
    return can_review(incident, user) or (
        _active(user)
        and (
            user.has_perm("incidents.change_employee")
            or any(user.has_perm(permission) for permission in _RESTRICTS_PROJECTS)
        )
    )


def hand_over_refusal(incident, user) -> str | None:
    """Why `user` may not hand incident's stage over now, in words; None when they may."""
    context = {"id": incident.pk, "step": incident.get_step_display()}
    if not incident.is_open or incident.step not in (Step.ASSIGNED, Step.SUBMITTED):
        return _("Incident #%(id)s is %(step)s: there is no assignee to hand over from.") % context
    if not can_hand_over(incident, user):
        return (
            _(
                "Only someone who manages people, a supervisor of the stage or an administrator "
                "hands incident #%(id)s over."
            )
            % context
        )
    return None


# What each piece of an assignee's work needs of their roles (the capability "Work on assigned
# incidents"); someone without it is not offered for an assignment either.
WORK_PERMISSIONS = {
    WorkflowAction.RECORD: "incidents.add_operationrecord",
    WorkflowAction.RESULT: "incidents.add_analysisresult",
    WorkflowAction.SUBMIT: "incidents.add_operationrecord",
}
# `does_the_work` for a query of people: the same permission, held through a role or directly.
_WORK_APP, _WORK_CODENAME = WORK_PERMISSIONS[WorkflowAction.RECORD].split(".")
_WORKS = (
    Q(is_superuser=True)
    | Q(
        groups__permissions__codename=_WORK_CODENAME,
        groups__permissions__content_type__app_label=_WORK_APP,
    )
    | Q(
        user_permissions__codename=_WORK_CODENAME,
        user_permissions__content_type__app_label=_WORK_APP,
    )
)


def does_the_work(person) -> bool:
    """Whether `person`'s roles let them work on an incident assigned to them."""
    return _active(person) and person.has_perm(WORK_PERMISSIONS[WorkflowAction.RECORD])


def may_change_person(employee, by) -> bool:
    """Whether `by` may change or delete `employee`'s account: only a superuser changes a
    superuser (roles carry everyone else's rights). `by` None is the command line, which
    administrators run."""
    return by is None or not employee.is_superuser or by.is_superuser


def person_change_refusal(employee, by) -> str | None:
    """Why `by` may not change `employee`'s account, in words; None when they may."""
    if may_change_person(employee, by):
        return None
    return _("Only a superuser can change %(person)s, a superuser.") % {"person": employee}


def person_deactivation_refusal(employee, by) -> str | None:
    """Why `by` may not deactivate `employee`, in words; None when they may."""
    if employee.pk == by.pk:
        return _("You cannot deactivate your own account.")
    if not may_change_person(employee, by):
        return _("Only a superuser can deactivate a superuser.")
    return None


def can_view(incident, user) -> bool:
    """Who sees is access's question (`access.may_view_incident`); asked here too, beside the
    rules that take it for granted."""
    return access.may_view_incident(incident, user)


def can_fill_eightd(group, user) -> bool:
    """Writes a problem group's 8D report: its owner or an administrator, holding the role's
    permission to write 8D reports."""
    if not (_active(user) and user.has_perm("incidents.change_eightd")):
        return False
    return is_admin(user) or (group.owner_id is not None and group.owner_id == user.pk)


def can_edit_incident(incident, user) -> bool:
    """Changes an incident's details (description, problem group, its failure): whoever holds
    the permission to change incidents, while the incident is open."""
    return incident_edit_refusal(incident, user) is None


def incident_edit_refusal(incident, user) -> str | None:
    """Why `user` may not change the incident's details now, in words; None when they may. A
    closed incident says what it said when it closed, reports included."""
    if not (_active(user) and user.has_perm("incidents.change_incident")):
        return _("You may not change incidents.")
    if not incident.is_open:
        return _(
            "Incident #%(id)s is closed (%(stage)s); its details and problem group cannot "
            "change any more."
        ) % {"id": incident.pk, "stage": incident.get_stage_display()}
    return None


def group_join_refusal(incident, group, user) -> str | None:
    """Why `user` may not put `incident` in the suggested group `group`; None when they may."""
    if not (is_supervisor(user) or is_admin(user)):
        return _("Only a supervisor or an administrator puts an incident in a problem group here.")
    if not group.takes_incidents:
        return _("Problem group %(number)s takes no more incidents.") % {"number": group.number}
    return incident_edit_refusal(incident, user)


def may_mark_evidence(incident, person) -> bool:
    """Who works the stage marks its evidence in the incident's chat: the assignee, its
    supervisors, administrators, while the incident is open."""
    return incident.is_open and (
        is_assignee(incident, person) or is_stage_supervisor(incident, person) or is_admin(person)
    )


def message_editable_until(message) -> datetime:
    """Until when the author of a chat message may still change or delete it (the chat's edit
    window, `CHAT_EDIT_WINDOW_SECONDS`)."""
    return message.created_at + timedelta(seconds=settings.CHAT_EDIT_WINDOW_SECONDS)


def message_change_refusal(message, by, now: datetime | None = None) -> tuple[str, str] | None:
    """Why `by` may not change or delete chat message `message` now, as (code, words); None
    when they may: only its author, a message they wrote (not a system line), not deleted,
    within the edit window."""
    if not message.is_text or by is None or message.author_id != by.pk:
        return "forbidden", _("Only its author can change or delete a message.")
    if message.deleted_at is not None:
        return "deleted", _("This message was deleted.")
    if (now or timezone.now()) > message_editable_until(message):
        return "too_late", _(
            "Messages can be changed for %(minutes)d minutes after they are sent."
        ) % {"minutes": settings.CHAT_EDIT_WINDOW_SECONDS // 60}
    return None


def needs_verdict(incident) -> bool:
    return incident.stage in STAGE_VERDICTS


def assignable_people(incident):
    """Who may take the incident's current stage: active members and supervisors of the
    department that owns it whose roles let them do the work and who may see its project,
    nobody when no department owns it."""
    department = stage_owner(incident.stage)
    if department is None:
        return Employee.objects.none()
    people = (
        Employee.objects.filter(is_active=True)
        .filter(Q(department=department) | Q(supervised_departments=department))
        .filter(_WORKS)
        .distinct()
        .order_by("display_name", "employee_number")
    )
    return access.people_seeing(people, incident.device.project)


def assignment_refusal(incident, person) -> str | None:
    """Why `person` cannot take the incident's current stage; None when they can."""
    if assignable_people(incident).filter(pk=person.pk).exists():
        return None
    department = stage_owner(incident.stage)
    member = (
        department is not None
        and _active(person)
        and (
            person.department_id == department.pk
            or person.supervised_departments.filter(pk=department.pk).exists()
        )
    )
    if member and not does_the_work(person):
        return _(
            "%(person)s's roles do not include “Work on assigned incidents”; assign someone "
            "whose roles do, or ask an administrator to give it to them."
        ) % {"person": person}
    if member and not access.may_see_incident(incident, person):
        return _(
            "%(person)s may not see project %(project)s, which is confidential; assign someone "
            "it is open to, or ask an administrator to open it to them."
        ) % {"person": person, "project": incident.device.project}
    return _(
        "%(person)s is not an active member of %(department)s, which owns %(stage)s; "
        "assign someone from that department."
    ) % {
        "person": person,
        "department": department.localized_name if department else _owner_name(incident),
        "stage": incident.get_stage_display(),
    }


def _owner_name(incident) -> str:
    department = stage_owner(incident.stage)
    return (
        department.localized_name if department else _("no department (configure Stage ownership)")
    )


def refusal(incident, action: WorkflowAction, user, facts: Facts | None = None) -> str | None:
    """Why `user` may not perform `action` on `incident` now, in words; None when allowed."""
    facts = facts or Facts(user)
    context = {
        "id": incident.pk,
        "stage": incident.get_stage_display(),
        "step": incident.get_step_display(),
    }
    if not access.may_see_incident(incident, user):
        return _("Incident #%(id)s is not open to you.") % context
    if not incident.is_open:
        return _("Incident #%(id)s is closed (%(stage)s); it cannot change any more.") % context

    department = stage_owner(incident.stage, facts)
    if department is None and not (action == WorkflowAction.CANCEL and is_admin(user, facts)):
        return (
            _(
                "No department owns %(stage)s, so nobody can work on incident #%(id)s yet: an "
                "administrator picks one in Settings → Stage ownership."
            )
            % context
        )
    context["department"] = department.localized_name if department else ""

    if action == WorkflowAction.ASSIGN:
        if incident.step not in (Step.UNASSIGNED, Step.ASSIGNED):
            return (
                _("Incident #%(id)s is %(step)s; approve it or send it back before reassigning.")
                % context
            )
        if not is_stage_supervisor(incident, user, facts):
            return (
                _("Only a supervisor of %(department)s, which owns %(stage)s, can assign it.")
                % context
            )
    elif action in (WorkflowAction.RECORD, WorkflowAction.RESULT, WorkflowAction.SUBMIT):
        if incident.step != Step.ASSIGNED:
            return _("Incident #%(id)s is not in progress (it is %(step)s).") % context
        if not is_assignee(incident, user):
            return _("Only the assignee, %(assignee)s, can work on incident #%(id)s.") % {
                **context,
                "assignee": incident.assignee,
            }
        if not user.has_perm(WORK_PERMISSIONS[action]):
            return _(
                "Your roles do not include “Work on assigned incidents”: an administrator gives "
                "it, or a supervisor assigns the stage to someone else."
            )
        if action == WorkflowAction.SUBMIT:
            if not incident.has_record_this_round():
                return _("Add at least one operation record before submitting for review.")
            if needs_verdict(incident) and facts.latest_verdict(incident) is None:
                return (
                    _(
                        "%(stage)s needs a verdict: add an analysis result with a verdict in "
                        "this round before submitting."
                    )
                    % context
                )
    elif action in (WorkflowAction.APPROVE, WorkflowAction.REJECT):
        if incident.step != Step.SUBMITTED:
            return _("Incident #%(id)s is not waiting for review (it is %(step)s).") % context
        if not can_review(incident, user, facts):
            return (
                _(
                    "Only a supervisor of %(department)s, which owns %(stage)s, or an "
                    "administrator can review it."
                )
                % context
            )
        if action == WorkflowAction.APPROVE:
            if is_assignee(incident, user) or worked_the_round(incident, user, facts):
                return (
                    _(
                        "You did the work of this stage, so you cannot approve it yourself: "
                        "another supervisor of %(department)s or an administrator approves it."
                    )
                    % context
                )
            if needs_verdict(incident) and facts.latest_verdict(incident) is None:
                return (
                    _(
                        "%(stage)s needs a verdict from this round: send it back so the "
                        "assignee adds an analysis result with a verdict."
                    )
                    % context
                )
    elif action == WorkflowAction.CANCEL and not can_cancel(incident, user, facts):
        return _("Only a supervisor of %(department)s or an administrator can cancel it.") % context
    return None


def may_correct_serial(user, facts: Facts | None = None) -> bool:
    """Correcting a device's serial number: an administrator's change."""
    return is_admin(user, facts)


def serial_correction_refusal(device, by) -> str | None:
    """Why `by` may not correct `device`'s serial number, in words; None when they may. A
    serial number names the device on its labels, in its trail and in the test stations'
    results, so only an administrator corrects one (incidents.audit keeps it)."""
    if may_correct_serial(by):
        return None
    return _("Only an administrator can correct the serial number of device %(serial)s.") % {
        "serial": device.serial_number
    }


def _guard_serial_correction(sender, *, device, by, **kwargs) -> None:
    reason = serial_correction_refusal(device, by)
    if reason:
        raise ValidationError(reason)


def belongs_to_stage(incident, person, facts: Facts | None = None) -> bool:
    """A member or supervisor of the department that owns the incident's stage, or an
    administrator."""
    facts = facts or Facts(person)
    if not _active(person):
        return False
    department = stage_owner(incident.stage, facts)
    return is_admin(person, facts) or (
        department is not None
        and (person.department_id == department.pk or incident.stage in facts.supervised_stages)
    )


def move_away_refusal(device, *, to, by, reason: str) -> tuple[str, str] | None:
    """Why `by` may not move `device` to location `to` now, as (code, words); None when they may.

    A device whose open incident's stage works at a place (Stage ownership names it) and that
    sits there is in the middle of that stage's work: taking it elsewhere is for the stage's
    department (its people, its supervisors) or an administrator, and only with a reason
    (MOVE_REASON_NEEDED); anyone else is refused, told which department and why
    (MOVE_REFUSED). `by` None is the command line, which administrators run."""
    if to is None or device.location_id is None or to.pk == device.location_id:
        return None
    incident = device.incidents.filter(stage__in=OPEN_STAGES).order_by("-id").first()
    if incident is None:
        return None
    ownership = (
        StageOwnership.objects.select_related("department", "work_location")
        .filter(stage=incident.stage, work_location_id=device.location_id)
        .first()
    )
    if ownership is None or by is None:
        return None
    context = {
        "serial": device.serial_number,
        "place": ownership.work_location.code,
        "stage": incident.get_stage_display(),
        "id": incident.pk,
        "department": ownership.department.localized_name,
    }
    if not belongs_to_stage(incident, by):
        return MOVE_REFUSED, _(
            "%(serial)s is at %(place)s for %(stage)s (incident #%(id)s), which is not finished: "
            "only %(department)s, the department working that stage, or an administrator may "
            "take it elsewhere before the stage ends."
        ) % context
    if not (reason or "").strip():
        return MOVE_REASON_NEEDED, _(
            "%(serial)s is at %(place)s for %(stage)s (incident #%(id)s), which is not finished: "
            "give a reason for taking it elsewhere, then move it."
        ) % context
    return None


def _guard_move(sender, *, device, location, by, reason, at=None, **kwargs) -> None:
    if at is not None:
        return  # an old move told late (an import) is history, not a decision taken now
    refused = move_away_refusal(device, to=location, by=by, reason=reason)
    if refused:
        code, words = refused
        raise ValidationError(words, code=code)


def connect() -> None:
    """Hold the devices app's serial corrections and moves to these rules, whatever path they
    come by."""
    device_serial_correcting.connect(
        _guard_serial_correction, weak=False, dispatch_uid="rules-device-serial"
    )
    device_moving.connect(_guard_move, weak=False, dispatch_uid="rules-device-move")
