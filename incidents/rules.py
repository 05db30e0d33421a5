"""Who may do what to an incident, and why not — the one place these rules live.

The model's transitions use the predicates as their permissions and conditions; services call
`refusal()` before running a transition so a refused user is told why in words; the admin asks the
same questions to decide which buttons to show.
"""

from django.utils.translation import gettext as _

from incidents.choices import STAGE_VERDICTS, Step, WorkflowAction


def stage_owner(stage: str):
    """The department owning `stage`, or None if no department owns it."""
    from incidents.models import StageOwnership

    ownership = StageOwnership.objects.select_related("department").filter(stage=stage).first()
    return ownership.department if ownership else None


def is_stage_supervisor(incident, user) -> bool:
    """A supervisor of the department that owns the incident's current stage."""
    from incidents.models import StageOwnership

    if not (user and user.is_authenticated and user.is_active):
        return False
    return StageOwnership.objects.filter(
        stage=incident.stage, department__supervisors=user
    ).exists()


def is_assignee(incident, user) -> bool:
    return bool(
        user
        and user.is_authenticated
        and user.is_active
        and incident.assignee_id is not None
        and incident.assignee_id == user.pk
    )


def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_admin)


def can_cancel(incident, user) -> bool:
    return is_admin(user) or is_stage_supervisor(incident, user)


def can_view(incident, user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm("incidents.view_incident"))


def needs_verdict(incident) -> bool:
    return incident.stage in STAGE_VERDICTS


def _owner_name(incident) -> str:
    department = stage_owner(incident.stage)
    return department.name if department else _("no department (configure Stage ownership)")


def refusal(incident, action: WorkflowAction, user) -> str | None:
    """Why `user` may not perform `action` on `incident` now, in words; None when allowed."""
    context = {
        "id": incident.pk,
        "stage": incident.get_stage_display(),
        "step": incident.get_step_display(),
        "department": _owner_name(incident),
    }
    if not incident.is_open:
        return _("Incident #%(id)s is closed (%(stage)s); it cannot change any more.") % context

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
        if action == WorkflowAction.SUBMIT and not incident.has_record_this_round():
            return _("Add at least one operation record before submitting for review.")
    elif action in (WorkflowAction.APPROVE, WorkflowAction.REJECT):
        if incident.step != Step.SUBMITTED:
            return _("Incident #%(id)s is not waiting for review (it is %(step)s).") % context
        if not is_stage_supervisor(incident, user):
            return (
                _("Only a supervisor of %(department)s, which owns %(stage)s, can review it.")
                % context
            )
        verdict_missing = needs_verdict(incident) and incident.latest_verdict() is None
        if action == WorkflowAction.APPROVE and verdict_missing:
            return (
                _(
                    "%(stage)s needs a verdict: add an analysis result with a verdict before "
                    "approving."
                )
                % context
            )
    elif action == WorkflowAction.CANCEL and not can_cancel(incident, user):
        return _("Only a supervisor of %(department)s or an administrator can cancel it.") % context
    return None
