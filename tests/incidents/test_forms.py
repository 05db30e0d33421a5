"""The forms behind the workflow buttons: the assign form names each candidate with the open
incidents they carry, so a supervisor spreads the work."""

import pytest

from incidents.choices import DepartmentCode, Stage
from incidents.forms import AssignForm
from incidents.models import Department
from incidents.services import incident_assign, incident_cancel, incident_open
from tests.factories import DeviceFactory, StaffFactory, SupervisorFactory

pytestmark = pytest.mark.django_db


def production_team():
    production = Department.objects.get(code=DepartmentCode.PRODUCTION)
    supervisor = SupervisorFactory(department=production)
    production.supervisors.add(supervisor)
    return production, supervisor


def opened(reporter, **kwargs):
    return incident_open(device=DeviceFactory(), reporter=reporter, **kwargs)


class AssignFormWorkloadTests:
    def test_each_candidate_shows_their_open_incidents(self):
        production, supervisor = production_team()
        busy = StaffFactory(department=production, display_name="Busy Bee")
        idle = StaffFactory(department=production, display_name="Idle Ida")
        for _ in range(2):
            incident_assign(incident=opened(busy), assignee=busy, by=supervisor)
        # A closed incident is not workload.
        done = incident_assign(incident=opened(busy), assignee=busy, by=supervisor)
        incident_cancel(incident=done, by=supervisor, reason="Duplicate")

        form = AssignForm(incident=opened(busy), data=None)
        labels = dict((str(value), label) for value, label in form.fields["assignee"].choices)

        assert labels[str(busy.pk)] == f"{busy} · 2 open incidents"
        assert labels[str(idle.pk)] == f"{idle} · 0 open incidents"

    def test_a_supervisor_of_several_departments_is_counted_once_per_incident(self):
        _production, supervisor = production_team()
        Department.objects.get(code=DepartmentCode.FAE).supervisors.add(supervisor)
        Department.objects.get(code=DepartmentCode.EE).supervisors.add(supervisor)
        incident_assign(incident=opened(supervisor), assignee=supervisor, by=supervisor)

        form = AssignForm(incident=opened(supervisor), data=None)
        labels = dict((str(value), label) for value, label in form.fields["assignee"].choices)

        assert labels[str(supervisor.pk)] == f"{supervisor} · 1 open incident"

    def test_the_form_still_assigns_a_counted_candidate(self):
        production, supervisor = production_team()
        worker = StaffFactory(department=production)
        incident = opened(worker)

        form = AssignForm(
            incident=incident,
            data={
                "expected_stage": Stage.REPORTED,
                "expected_step": incident.step,
                "assignee": worker.pk,
            },
        )

        assert form.is_valid(), form.errors
        form.perform(by=supervisor)
        incident.refresh_from_db()
        assert incident.assignee == worker
