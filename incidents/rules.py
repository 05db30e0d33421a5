"""Who may do what to an incident, and why not — the one place these rules live.

The model's transitions use the predicates as their permissions and conditions; services call
`refusal()` before running a transition so a refused user is told why in words; the admin asks the
same questions to decide which buttons to show and whom to offer for an assignment.
"""

from django.db.models import Q
from django.utils.translation import gettext as _

from incidents.choices import STAGE_VERDICTS, Step, WorkflowAction


def stage_owner(stage: str):
    """The department owning `stage`, or None if no department owns it."""
    from incidents.models import StageOwnership

    ownership = StageOwnership.objects.select_related("department").filter(stage=stage).first()
    return ownership.department if ownership else None


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def is_admin(user) -> bool:
    return _active(user) and user.is_admin


def is_supervisor(user) -> bool:
    """Supervises at least one department."""
    return _active(user) and user.supervised_departments.exists()


def is_stage_supervisor(incident, user) -> bool:
    """A supervisor of the department that owns the incident's current stage."""
    from incidents.models import StageOwnership

    if not _active(user):
        return False
    return StageOwnership.objects.filter(
        stage=incident.stage, department__supervisors=user
    ).exists()


def can_review(incident, user) -> bool:
    """Approves or sends back: a supervisor of the owning department, or an administrator."""
    return is_stage_supervisor(incident, user) or is_admin(user)


def may_review_any(user) -> bool:
    """Whether the review actions are worth offering to this person at all."""
    return is_supervisor(user) or is_admin(user)


def is_assignee(incident, user) -> bool:
    return _active(user) and incident.assignee_id is not None and incident.assignee_id == user.pk


def can_cancel(incident, user) -> bool:
    return is_admin(user) or is_stage_supervisor(incident, user)


def can_view(incident, user) -> bool:
    return _active(user) and user.has_perm("incidents.view_incident")


def needs_verdict(incident) -> bool:
    return incident.stage in STAGE_VERDICTS


def assignable_people(incident):
    """Who may take the incident's current stage: active members and supervisors of the
    department that owns it, nobody when no department owns it."""
    from incidents.models import Employee

    department = stage_owner(incident.stage)
    if department is None:
        return Employee.objects.none()
    return (
        Employee.objects.filter(is_active=True)
        .filter(Q(department=department) | Q(supervised_departments=department))
        .distinct()
        .order_by("display_name", "employee_number")
    )


def assignment_refusal(incident, person) -> str | None:
    """Why `person` cannot take the incident's current stage; None when they can."""
    if assignable_people(incident).filter(pk=person.pk).exists():
        return None
    department = stage_owner(incident.stage)
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


def refusal(incident, action: WorkflowAction, user) -> str | None:
    """Why `user` may not perform `action` on `incident` now, in words; None when allowed."""
    context = {
        "id": incident.pk,
        "stage": incident.get_stage_display(),
        "step": incident.get_step_display(),
    }
    if not incident.is_open:
        return _("Incident #%(id)s is closed (%(stage)s); it cannot change any more.") % context

    department = stage_owner(incident.stage)
    if department is None and not (action == WorkflowAction.CANCEL and is_admin(user)):
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
        if not is_stage_supervisor(incident, user):
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
        if action == WorkflowAction.SUBMIT:
            if not incident.has_record_this_round():
                return _("Add at least one operation record before submitting for review.")
            if needs_verdict(incident) and incident.latest_verdict() is None:
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
        if not can_review(incident, user):
            return (
                _(
                    "Only a supervisor of %(department)s, which owns %(stage)s, or an "
                    "administrator can review it."
                )
                % context
            )
        if action == WorkflowAction.APPROVE:
            if is_assignee(incident, user):
                return (
                    _(
                        "You did the work of this stage, so you cannot approve it yourself: "
                        "another supervisor of %(department)s or an administrator approves it."
                    )
                    % context
                )
            if needs_verdict(incident) and incident.latest_verdict() is None:
                return (
                    _(
                        "%(stage)s needs a verdict from this round: send it back so the "
                        "assignee adds an analysis result with a verdict."
                    )
                    % context
                )
    elif action == WorkflowAction.CANCEL and not can_cancel(incident, user):
        return _("Only a supervisor of %(department)s or an administrator can cancel it.") % context
    return None
