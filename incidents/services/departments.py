"""Writes for departments: their supervisors and members, deactivating them, and which department
owns each stage (and where its work happens). People move between departments with their open
assignments handed over through the workflow, never left behind."""

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from incidents import audit, rules, selectors
from incidents.choices import Role, Stage
from incidents.models import Department, Employee, Incident, StageOwnership
from incidents.services.errors import WorkflowError
from incidents.services.workflow import incident_hand_over

# Passed as `hand_over_to` when nobody decided where a person's open assignments go (an import,
# the department page): a move that would leave any behind is then refused.
UNDECIDED = object()


def _names(things) -> str:
    return ", ".join(str(thing) for thing in things)


def last_supervisor_refusal(*, department: Department, supervisors: list[Employee]) -> str | None:
    """Why `supervisors` cannot become the department's supervisors: they would leave it without
    an active one while a stage it owns has open incidents. None when they can."""
    if any(person.is_active for person in supervisors):
        return None
    if not department.pk or not department.supervisors.filter(is_active=True).exists():
        return None
    open_incidents = selectors.department_open_stage_incidents(department.pk)
    if not open_incidents:
        return None
    count = sum(open_incidents.values())
    return ngettext(
        "%(department)s owns %(stages)s, where %(count)d incident is open: it cannot lose its "
        "last supervisor. Add another supervisor first, or give the stage to another department "
        "in Settings → Stage ownership.",
        "%(department)s owns %(stages)s, where %(count)d incidents are open: it cannot lose its "
        "last supervisor. Add another supervisor first, or give the stages to another "
        "department in Settings → Stage ownership.",
        count,
    ) % {
        "department": department,
        "stages": _names(Stage(stage).label for stage in open_incidents),
        "count": count,
    }


@transaction.atomic
def department_set_supervisors(*, department: Department, supervisors: list[Employee]) -> None:
    """Make these employees the department's supervisors; each gets the supervisor role, and
    whoever is taken off loses it unless they still supervise another department. Refused (a
    ValidationError on `supervisors`) when it would take the last supervisor from a department
    that owns a stage with open incidents."""
    Department.objects.select_for_update().filter(pk=department.pk).exists()
    reason = last_supervisor_refusal(department=department, supervisors=supervisors)
    if reason:
        raise ValidationError({"supervisors": reason})
    previous = set(department.supervisors.all())
    with audit.one_change():
        department.supervisors.set(supervisors)
    supervisor_group = Group.objects.get(name=Role.SUPERVISOR)
    for supervisor in supervisors:
        supervisor.groups.add(supervisor_group)
    for person in previous - set(supervisors):
        if not person.supervised_departments.exists():
            person.groups.remove(supervisor_group)


@transaction.atomic
def department_add_supervisors(*, department: Department, supervisors: list[Employee]) -> None:
    """Add supervisors to a department, keeping the ones it has (imports)."""
    department_set_supervisors(
        department=department,
        supervisors=[*department.supervisors.all(), *supervisors],
    )


# --- people moving between departments ------------------------------------------------------------
def inactive_department_refusal(department: Department) -> str:
    """Why nobody may join `department`: it is inactive."""
    return _(
        "%(department)s is inactive: reactivate it on its page or choose another department."
    ) % {"department": department}


def employee_move_check(
    *,
    employee: Employee,
    department: Department | None,
    by: Employee | None = None,
    hand_over_to=UNDECIDED,
) -> list[Incident]:
    """Whether `employee` may move to `department` (None: to no department), a WorkflowError
    saying why not; else the open assignments the move hands over (those of stages they could
    no longer take). `hand_over_to` is who takes them, None for back to the queue, UNDECIDED
    when nobody said: a move that would leave assignments behind is then refused."""
    context = {"person": employee}
    if refusal := rules.person_change_refusal(employee, by):
        raise WorkflowError(refusal)
    if department is not None and not department.is_active:
        raise WorkflowError(inactive_department_refusal(department))
    if employee.pk is None:
        return []
    left = selectors.assignments_left_behind(employee, department.pk if department else None)
    if not left:
        return []
    context.update(count=len(left), incidents=_names(f"#{incident.pk}" for incident in left))
    if hand_over_to is UNDECIDED:
        raise WorkflowError(
            ngettext(
                "%(person)s has an open assignment the new department cannot take "
                "(%(incidents)s): hand it over first, by changing the department on the "
                "person's page, which asks to whom.",
                "%(person)s has %(count)d open assignments the new department cannot take "
                "(%(incidents)s): hand them over first, by changing the department on the "
                "person's page, which asks to whom.",
                len(left),
            )
            % context
        )
    if hand_over_to is not None:
        if hand_over_to.pk == employee.pk:
            raise WorkflowError(
                _(
                    "%(person)s is the one moving: hand the work to someone who stays, or to "
                    "nobody to put it back in the queue."
                )
                % context
            )
        for incident in left:
            reason = rules.assignment_refusal(incident, hand_over_to)
            if reason:
                raise WorkflowError(
                    _("Incident #%(id)s cannot be handed over: %(reason)s")
                    % {"id": incident.pk, "reason": reason}
                )
    return left


@transaction.atomic
def employee_move(
    *,
    employee: Employee,
    department: Department | None,
    by: Employee,
    hand_over_to=UNDECIDED,
) -> Employee:
    """Move a person to another department (None: to none). Their open assignments of stages
    they can no longer take are handed over through the workflow, on each incident's timeline,
    in the same transaction: to `hand_over_to`, or with None back to the queue of the stage's
    department. Refused (WorkflowError) as `employee_move_check` says."""
    employee = Employee.objects.select_for_update().get(pk=employee.pk)
    if department is not None:
        department = Department.objects.select_for_update().get(pk=department.pk)
    if employee.department_id == (department.pk if department else None):
        return employee
    left = employee_move_check(
        employee=employee, department=department, by=by, hand_over_to=hand_over_to
    )
    for incident in left:
        incident_hand_over(incident=incident, to=hand_over_to, by=by)
    employee.department = department
    employee.save(update_fields=["department"])
    return employee


# --- departments ------------------------------------------------------------------------------
def _deactivation_refusals(department: Department, members: list[Employee]) -> list[str]:
    refusals = []
    stages = [
        Stage(stage).label for stage in department.owned_stages.values_list("stage", flat=True)
    ]
    if stages:
        refusals.append(
            _(
                "%(department)s owns %(stages)s: give them to another department in Settings → "
                "Stage ownership before deactivating it."
            )
            % {"department": department, "stages": _names(stages)}
        )
    busy = [person for person in members if selectors.open_assignments(person).exists()]
    if busy:
        refusals.append(
            ngettext(
                "%(people)s still has open assignments: move them to another department on "
                "their page (which hands their work over), or have the incidents reassigned, "
                "before deactivating %(department)s.",
                "%(people)s still have open assignments: move them to another department on "
                "their pages (which hands their work over), or have the incidents reassigned, "
                "before deactivating %(department)s.",
                len(busy),
            )
            % {"people": _names(busy), "department": department}
        )
    return refusals


def department_check(
    *,
    department: Department,
    by: Employee | None = None,
    supervisors: list[Employee] | None = None,
    members: list[Employee] | None = None,
) -> None:
    """Whether `department` may be saved as given (its fields; its supervisors and members when
    given): a ValidationError naming the fields (`is_active`, `supervisors`, `members`) says
    why not. Writes nothing."""
    errors: dict[str, list[str]] = {}
    stored = Department.objects.filter(pk=department.pk).first() if department.pk else None
    current = list(department.employees.all()) if stored else []
    after = current if members is None else list(members)
    if stored is not None and stored.is_active and not department.is_active:
        errors["is_active"] = _deactivation_refusals(department, after)
    if supervisors is not None and stored is not None:
        reason = last_supervisor_refusal(department=stored, supervisors=supervisors)
        if reason:
            errors["supervisors"] = [reason]
    if members is not None:
        moves = [(person, department) for person in after if person not in current]
        moves += [(person, None) for person in current if person not in after]
        for person, destination in moves:
            try:
                if destination is not None and not destination.is_active:
                    raise WorkflowError(inactive_department_refusal(destination))
                employee_move_check(employee=person, department=destination, by=by)
            except WorkflowError as error:
                errors.setdefault("members", []).append(error.message)
    errors = {field: messages for field, messages in errors.items() if messages}
    if errors:
        raise ValidationError(errors)


def department_set_members(
    *, department: Department, members: list[Employee], by: Employee
) -> None:
    """Make these people the department's members: whoever joins or leaves moves as
    `employee_move` moves them (those who leave belong to no department then)."""
    current = list(department.employees.all())
    for person in members:
        if person not in current:
            employee_move(employee=person, department=department, by=by)
    for person in current:
        if person not in members:
            employee_move(employee=person, department=None, by=by)


@transaction.atomic
def department_save(
    *,
    department: Department,
    by: Employee,
    supervisors: list[Employee] | None = None,
    members: list[Employee] | None = None,
) -> Department:
    """Create or change a department as its page does: its names and state, and when given its
    supervisors and its members. Refused (ValidationError) as `department_check` says:
    deactivating it while it owns a stage or its members have open assignments, taking its last
    supervisor while a stage it owns has open incidents, moving people whose open assignments
    would be left behind."""
    if department.pk:
        Department.objects.select_for_update().filter(pk=department.pk).exists()
    department_check(department=department, by=by, supervisors=supervisors, members=members)
    department.full_clean()
    department.save()
    if members is not None:
        department_set_members(department=department, members=members, by=by)
    if supervisors is not None:
        department_set_supervisors(department=department, supervisors=supervisors)
    return department


# --- stage ownership ----------------------------------------------------------------------------
def stage_ownership_check(*, ownership: StageOwnership) -> None:
    """Whether the stage may be given to `ownership.department`: not to an inactive department,
    nor to one without an active supervisor while the stage has open incidents. A
    ValidationError on `department` says why not."""
    department = ownership.department
    if department is None:
        return
    previous = (
        StageOwnership.objects.filter(pk=ownership.pk).values_list("department_id", flat=True)
        if ownership.pk
        else []
    )
    if department.pk in previous:
        return
    if not department.is_active:
        raise ValidationError({"department": inactive_department_refusal(department)})
    count = Incident.objects.filter(stage=ownership.stage).count()
    if count and not department.supervisors.filter(is_active=True).exists():
        raise ValidationError(
            {
                "department": ngettext(
                    "%(department)s has no supervisor to assign and review the %(count)d open "
                    "incident in %(stage)s: give it a supervisor on its page first.",
                    "%(department)s has no supervisor to assign and review the %(count)d open "
                    "incidents in %(stage)s: give it a supervisor on its page first.",
                    count,
                )
                % {
                    "department": department,
                    "count": count,
                    "stage": Stage(ownership.stage).label,
                }
            }
        )


@transaction.atomic
def stage_ownership_save(*, ownership: StageOwnership) -> StageOwnership:
    """Give a stage to a department (and say where its work happens), as `stage_ownership_check`
    allows."""
    if ownership.department_id:
        Department.objects.select_for_update().filter(pk=ownership.department_id).exists()
    stage_ownership_check(ownership=ownership)
    ownership.full_clean()
    ownership.save()
    return ownership
