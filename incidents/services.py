"""Writes for people, departments and incidents. Admin classes and commands call these."""

from datetime import datetime

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents.choices import TERMINAL_STAGES, Role, Stage
from incidents.models import Department, Employee, Incident, ProblemGroup
from locations.models import Device


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


def problem_group_get_or_create(*, number: str, title: str = "") -> ProblemGroup:
    group, _created = ProblemGroup.objects.get_or_create(
        number=number.strip(), defaults={"title": title}
    )
    return group


@transaction.atomic
def incident_open(
    *,
    device: Device,
    reporter: Employee | None,
    description: str = "",
    problem_group: ProblemGroup | None = None,
    opened_at: datetime | None = None,
    stage: Stage = Stage.REPORTED,
) -> Incident:
    """Open an incident for a device that has none open.

    `stage` other than `reported` is for bringing in records that already progressed
    elsewhere (legacy imports, demo data); the workflow moves incidents on from there.
    """
    if (
        Incident.objects.select_for_update()
        .filter(device=device)
        .exclude(stage__in=TERMINAL_STAGES)
        .exists()
    ):
        raise ValidationError(
            _("Device %(serial)s already has an open incident.") % {"serial": device.serial_number}
        )
    opened_at = opened_at or timezone.now()
    incident = Incident(
        device=device,
        reporter=reporter,
        description=description,
        problem_group=problem_group,
        opened_at=opened_at,
        stage_entered_at=opened_at,
        stage=Stage(stage),
        closed_at=opened_at if stage in TERMINAL_STAGES else None,
    )
    # The stage is protected (only transitions change it); validate the rest.
    incident.full_clean(exclude=["stage"])
    incident.save()
    return incident
