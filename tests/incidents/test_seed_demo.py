import pytest
from django.core.management import call_command
from django.db import models

from fixtures.demo import DEMO_PASSWORD, demo_employees
from incidents.choices import TERMINAL_STAGES, Role, Stage
from incidents.models import Department, Employee, Incident, ProblemGroup, StageOwnership
from locations.models import Device, Location

pytestmark = pytest.mark.django_db

SEEDED = [Employee, Department, StageOwnership, Location, Device, ProblemGroup, Incident]


def snapshot() -> dict[str, list[tuple]]:
    """Every seeded row's concrete field values, so 'the same data' means exactly that."""
    result = {}
    for model in SEEDED:
        fields = [
            f.attname
            for f in model._meta.concrete_fields
            if not isinstance(f, models.DateTimeField) and f.attname != "password"
        ]
        result[model._meta.label] = sorted(model.objects.values_list(*fields))
    return result


class SeedDemoTests:
    def test_running_twice_leaves_the_same_data(self):
        call_command("seed_demo")
        first = snapshot()

        call_command("seed_demo")

        assert snapshot() == first

    def test_creates_people_of_every_department_and_incidents_in_every_stage(self):
        call_command("seed_demo")

        demo_numbers = {row["employee_number"] for row in demo_employees()}
        for code in ("PROD", "FAE", "XRAY", "EE", "ME"):
            department = Department.objects.get(code=code)
            people = department.employees.filter(employee_number__in=demo_numbers)
            assert people.filter(groups__name=Role.SUPERVISOR).count() == 1, department
            assert people.filter(groups__name=Role.STAFF).count() == 2, department
        assert Device.objects.count() == 90  # 50 demo devices and 40 from the legacy sample
        assert set(Incident.objects.values_list("stage", flat=True)) == set(Stage.values)
        # Closed ones carry when they closed (the dashboard's end-to-end times read it).
        closed = Incident.objects.filter(stage__in=TERMINAL_STAGES)
        assert not closed.filter(closed_at__isnull=True).exists()
        assert (
            not Incident.objects.exclude(stage__in=TERMINAL_STAGES)
            .filter(closed_at__isnull=False)
            .exists()
        )

    def test_the_stage_visits_end_when_the_spread_out_timeline_says(self):
        from incidents.models import IncidentEvent
        from incidents.services.workflow import visit_ends_write

        call_command("seed_demo")
        seeded = dict(IncidentEvent.objects.values_list("id", "left_at"))

        visit_ends_write()

        assert dict(IncidentEvent.objects.values_list("id", "left_at")) == seeded
        assert any(left is not None for left in seeded.values())

    def test_every_problem_group_has_an_owner_who_writes_its_8d_report(self):
        call_command("seed_demo")

        # The demo's own groups (those of the legacy sample come without an owner, as such
        # groups do from a factory's workbook).
        groups = ProblemGroup.objects.filter(number__startswith="BUG-2025-").select_related("owner")
        assert groups.count() == 4
        assert [g.number for g in groups if g.owner is None or not g.owner.is_active] == []

    def test_every_demo_login_works_with_the_demo_password(self):
        call_command("seed_demo")

        for row in demo_employees():
            employee = Employee.objects.get(username=row["username"])
            assert employee.check_password(DEMO_PASSWORD), row["username"]
            assert employee.is_staff and employee.is_active

    def test_supervisors_carry_the_supervisor_role(self):
        call_command("seed_demo")

        lead = Employee.objects.get(username="fae_lead")
        assert lead.has_role(Role.SUPERVISOR)
        assert lead.supervised_departments.get().code == "FAE"

    def test_refuses_to_run_in_production_without_the_explicit_flag(self, settings):
        from django.core.management.base import CommandError

        settings.IS_PRODUCTION = True

        with pytest.raises(CommandError, match="Refusing"):
            call_command("seed_demo")
        assert not Device.objects.exists()
