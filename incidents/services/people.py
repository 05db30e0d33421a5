"""Writes for people and departments."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.translation import gettext as _

from incidents.choices import Role
from incidents.models import Department, Employee
from incidents.services.errors import WorkflowError


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
    """Create an employee with a login and the given roles."""
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
def department_set_supervisors(*, department: Department, supervisors: list[Employee]) -> None:
    """Make these employees the department's supervisors; each gets the supervisor role, and
    whoever is taken off loses it unless they still supervise another department."""
    previous = set(department.supervisors.all())
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
    if employee.is_superuser and not by.is_superuser:
        raise WorkflowError(
            _("Only a superuser can change %(person)s, a superuser.") % {"person": employee}
        )
    changed = [name for name, value in changes.items() if getattr(employee, name) != value]
    if changed:
        for name in changed:
            setattr(employee, name, changes[name])
        employee.full_clean()
        employee.save(update_fields=changed)
    return employee


def roles_grant(*, grants: list[tuple[Employee, Role]]) -> None:
    """Give each person a role, keeping the roles they have (bulk: imports)."""
    groups = {group.name: group for group in Group.objects.filter(name__in=Role.values)}
    Employee.groups.through.objects.bulk_create(
        [
            Employee.groups.through(employee_id=employee.pk, group_id=groups[role].pk)
            for employee, role in grants
        ],
        ignore_conflicts=True,
    )


@transaction.atomic
def employee_deactivate(*, employee: Employee, by: Employee) -> Employee:
    """Keep the person in every trail but end their access: they can no longer log in, be
    assigned or take devices. Their open assignments stay listed for a supervisor to hand over."""
    if employee.pk == by.pk:
        raise WorkflowError(_("You cannot deactivate your own account."))
    if employee.is_superuser and not by.is_superuser:
        raise WorkflowError(_("Only a superuser can deactivate a superuser."))
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
