"""Writes for people and departments."""

from django.contrib.auth.models import Group
from django.db import transaction

from incidents.choices import Role
from incidents.models import Department, Employee


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
    """Create an employee with a login; without a password the account cannot log in yet."""
    employee = Employee(
        employee_number=employee_number,
        username=username,
        display_name=display_name,
        email=email,
        department=department,
        is_superuser=Role.ADMIN in roles,
    )
    if password:
        employee.set_password(password)
    else:
        employee.set_unusable_password()
    employee.full_clean()
    employee.save()
    employee.groups.set(Group.objects.filter(name__in=roles))
    return employee


@transaction.atomic
def department_set_supervisors(*, department: Department, supervisors: list[Employee]) -> None:
    """Make these employees the department's supervisors; each gets the supervisor role."""
    department.supervisors.set(supervisors)
    supervisor_group = Group.objects.get(name=Role.SUPERVISOR)
    for supervisor in supervisors:
        supervisor.groups.add(supervisor_group)
