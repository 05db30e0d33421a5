"""Writes for people: accounts and their roles, their language, deactivating them, and bringing
them in from a workbook. Moving people between departments, and the departments themselves, are
in incidents.services.departments."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction

from config.kit.updates import apply_changes, changes_to
from incidents import audit, rules
from incidents.choices import Role
from incidents.models import Department, Employee
from incidents.models.people import roles_changed
from incidents.services.departments import (
    department_add_supervisors,
    employee_move_check,
    inactive_department_refusal,
)
from incidents.services.errors import WorkflowError
from incidents.signals import access_changed_on_commit


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
        raise WorkflowError(inactive_department_refusal(department))
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
        return inactive_department_refusal(department)
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
    roles_changed()  # written in bulk, without the relation's signal
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
