"""Writes for people and departments: accounts and roles, departments with their supervisors
and members, stage ownership. People move between departments with their open assignments
handed over through the workflow, never left behind."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from config.kit.updates import apply_changes, changes_to
from incidents import audit, rules, selectors
from incidents.choices import Role, Stage
from incidents.models import Department, Employee, Incident, StageOwnership
from incidents.services.errors import WorkflowError
from incidents.services.workflow import incident_hand_over
from incidents.signals import access_changed_on_commit

# Passed as `hand_over_to` when nobody decided where a person's open assignments go (an import,
# the department page): a move that would leave any behind is then refused.
UNDECIDED = object()


def employee_build(
    *,
    employee_number: str,
    username: str,
    display_name: str = "",
    email: str = "",
    department: Department | None = None,
    password: str | None = None,
) -> Employee:
    """A new employee, not saved yet (bulk writers save many at once). Never a superuser:
    roles carry the permissions, and `createsuperuser` stays the one way to make a superuser.
    Without a password the account cannot log in yet."""
    employee = Employee(
        employee_number=employee_number,
        username=username,
        display_name=display_name,
        email=email,
        department=department,
        is_superuser=False,
    )
    if password:
        employee.set_password(password)
    else:
        employee.set_unusable_password()
    return employee


@transaction.atomic
def employee_create(
    *,
    employee_number: str,
    username: str,
    display_name: str = "",
    email: str = "",
    department: Department | None = None,
    roles: tuple[Role, ...] = (Role.STAFF,),
    password: str | None = None,
) -> Employee:
    """Create an employee with a login and the given roles, in an active department (or none)."""
    if department is not None and not department.is_active:
        raise WorkflowError(_inactive_department(department))
    employee = employee_build(
        employee_number=employee_number,
        username=username,
        display_name=display_name,
        email=email,
        department=department,
        password=password,
    )
    employee.full_clean()
    employee.save()
    employee.groups.set(Group.objects.filter(name__in=roles))
    return employee


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


@transaction.atomic
def employee_update(*, employee: Employee, by: Employee, **changes) -> Employee:
    """Change a person's login, name, e-mail or department; only what changed is written.
    Only a superuser changes a superuser's account."""
    allowed = {"username", "display_name", "email", "department"}
    if set(changes) - allowed:
        raise ValueError(f"not editable here: {sorted(set(changes) - allowed)}")
    employee = Employee.objects.select_for_update().get(pk=employee.pk)
    if refusal := rules.person_change_refusal(employee, by):
        raise WorkflowError(refusal)
    changes = changes_to(employee, changes)
    if "department" in changes:
        # Nobody here says where their open assignments go: refused if the move leaves any.
        employee_move_check(employee=employee, department=changes["department"], by=by)
    if changes:
        changed = apply_changes(employee, changes)
        employee.full_clean()
        employee.save(update_fields=changed)
    return employee


# Passed as `department` to `employee_change_refusal` when the department stays as it is.
KEEP = object()


def department_join_refusal(department: Department | None) -> str | None:
    """Why nobody may join `department` (created in it or moved into it): it is inactive. None
    when they may, or for no department."""
    if department is not None and department.pk and not department.is_active:
        return _inactive_department(department)
    return None


def employee_change_refusal(
    *, employee: Employee, by: Employee | None, department=KEEP
) -> str | None:
    """Why `by` may not change `employee` (their name, e-mail, roles, and their department when
    `department` is given), in the words of the person's page; None when they may. `by` None is
    the command line, which administrators run. The rules of `employee_update` and
    `employee_move`: only a superuser changes a superuser, nobody joins an inactive department,
    and a move that would leave open assignments behind is refused (only the person's page,
    which asks to whom, hands them over)."""
    if refusal := rules.person_change_refusal(employee, by):
        return refusal
    if department is KEEP:
        return None
    if employee.pk and employee.department_id == (department.pk if department else None):
        return None
    try:
        employee_move_check(employee=employee, department=department, by=by)
    except WorkflowError as error:
        return error.message
    return None


IMPORTABLE_PERSON_FIELDS = ("display_name", "email", "department")


@transaction.atomic
def employees_import(
    *,
    departments: list[Department] = (),
    created: list[Employee] = (),
    changed: list[tuple[Employee, dict]] = (),
    grants: list[tuple[Employee, Role, Department | None]] = (),
    by: Employee | None,
) -> None:
    """Bring people in from a workbook in bulk (the legacy import), by the rules of the person's
    page: new departments; new people (built with `employee_build`, staff, in an active
    department or none); changes of name, e-mail and department, each as
    `employee_change_refusal` allows; roles granted (a supervisor supervises the department
    given). Any of it that breaks a rule refuses the whole (WorkflowError): the caller works out
    beforehand what it may do, lists the rest, and leaves it out."""
    for employee in created:
        if employee.pk is not None or employee.is_superuser:
            raise ValueError("employees_import creates new people built by employee_build")
        refusal = department_join_refusal(employee.department)
        if refusal:
            raise WorkflowError(refusal)
    for employee, changes in changed:
        unknown = set(changes) - set(IMPORTABLE_PERSON_FIELDS)
        if unknown:
            raise ValueError(f"not changed by an import: {sorted(unknown)}")
        refusal = employee_change_refusal(
            employee=employee, by=by, department=changes.get("department", KEEP)
        ) or department_join_refusal(changes.get("department"))
        if refusal:
            raise WorkflowError(refusal)
    for employee, _role, department in grants:
        refusal = employee_change_refusal(employee=employee, by=by)
        if refusal or (refusal := department_join_refusal(department)):
            raise WorkflowError(refusal)
    Department.objects.bulk_create(departments)
    audit.record_created(departments)
    Employee.objects.bulk_create(created, batch_size=1000)
    by_fields: dict[tuple[str, ...], list[Employee]] = {}
    for employee, changes in changed:
        apply_changes(employee, changes)
        by_fields.setdefault(tuple(sorted(changes)), []).append(employee)
    for names, people in by_fields.items():
        Employee.objects.bulk_update(people, list(names), batch_size=1000)
    # Written in bulk, without the models' signals: a department changed is told here.
    access_changed_on_commit(
        people=[employee.pk for employee, changes in changed if "department" in changes]
    )
    roles_grant(
        grants=[
            *((employee, Role.STAFF) for employee in created),
            *((employee, role) for employee, role, _department in grants),
        ]
    )
    supervisors: dict[int, tuple[Department, list]] = {}
    for employee, role, department in grants:
        if role == Role.SUPERVISOR and department is not None:
            supervisors.setdefault(department.pk, (department, []))[1].append(employee)
    for department, people in supervisors.values():
        department_add_supervisors(department=department, supervisors=people)


def roles_grant(*, grants: list[tuple[Employee, Role]]) -> None:
    """Give each person a role, keeping the roles they have (bulk: imports); the roles given
    are kept in the audit trail of configuration as a page's would be."""
    groups = {group.name: group for group in Group.objects.filter(name__in=Role.values)}
    membership = Employee.groups.through
    people = {employee.pk: employee for employee, _role in grants}
    before: dict[int, set[str]] = {pk: set() for pk in people}
    for employee_id, name in membership.objects.filter(employee_id__in=people).values_list(
        "employee_id", "group__name"
    ):
        before[employee_id].add(name)
    after = {pk: set(names) for pk, names in before.items()}
    for employee, role in grants:
        after[employee.pk].add(str(role))
    membership.objects.bulk_create(
        [
            membership(employee_id=employee.pk, group_id=groups[role].pk)
            for employee, role in grants
        ],
        ignore_conflicts=True,
    )
    audit.record_roles_granted(
        [(people[pk], sorted(before[pk]), sorted(after[pk])) for pk in people]
    )


@transaction.atomic
def employee_deactivate(*, employee: Employee, by: Employee) -> Employee:
    """Keep the person in every trail but end their access: they can no longer log in, be
    assigned or take devices. Their open assignments stay listed for a supervisor to hand over."""
    if refusal := rules.person_deactivation_refusal(employee, by):
        raise WorkflowError(refusal)
    employee = Employee.objects.select_for_update().get(pk=employee.pk)
    if employee.is_active:
        employee.is_active = False
        employee.save(update_fields=["is_active"])
    return employee


def employee_set_language(*, employee: Employee, language: str) -> None:
    """The language a person reads the product and their e-mails in (from the switcher)."""
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"not a language of the product: {language}")
    if employee.language != language:
        employee.language = language
        employee.save(update_fields=["language"])


# --- people moving between departments ------------------------------------------------------------
def _inactive_department(department: Department) -> str:
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
        raise WorkflowError(_inactive_department(department))
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
                    raise WorkflowError(_inactive_department(destination))
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
        raise ValidationError({"department": _inactive_department(department)})
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
