"""`incidents.signals.access_changed` is told once a change that may take rights or sight away
has committed, on every path that makes one, and never for one that rolled back or that takes
nothing away (a login). The workflow's changes are told (`incident_changed`, `record_added`)
once they have committed, never when they rolled back, whatever a listener does."""

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from incidents.choices import Role, Stage, Step, Verdict, WorkflowAction
from incidents.models import Department, ProjectAccess
from incidents.services import (
    analysis_result_add,
    incident_assign,
    incident_update,
    operation_record_add,
)
from incidents.services.departments import employee_move
from incidents.services.people import employee_deactivate, employees_import
from incidents.signals import access_changed, incident_changed, record_added
from locations.services import device_update
from tests.factories import AdminFactory, DeviceFactory, StaffFactory
from tests.incidents.test_workflow import assigned, build_team, open_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def told():
    """What access_changed said, once the test's changes committed."""
    heard = []

    def receiver(sender, *, people, projects, **kwargs):
        heard.append({"people": set(people), "projects": set(projects)})

    access_changed.connect(receiver, dispatch_uid="test-told")
    yield heard
    access_changed.disconnect(dispatch_uid="test-told")


def people_told(heard) -> set[int]:
    return {person for entry in heard for person in entry["people"]}


def projects_told(heard) -> set[str]:
    return {project for entry in heard for project in entry["projects"]}


class PeopleTests:
    def test_deactivating_a_person_is_told_on_commit(
        self, told, django_capture_on_commit_callbacks
    ):
        person, admin = StaffFactory(), AdminFactory()

        with django_capture_on_commit_callbacks(execute=True):
            employee_deactivate(employee=person, by=admin)

        assert person.pk in people_told(told)

    def test_nothing_is_told_before_the_commit_nor_for_a_change_rolled_back(
        self, told, django_capture_on_commit_callbacks
    ):
        person = StaffFactory()

        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            with transaction.atomic():
                person.is_active = False
                person.save()
            assert told == []
        with (
            django_capture_on_commit_callbacks(execute=True),
            pytest.raises(RuntimeError),
            transaction.atomic(),
        ):
            person.groups.clear()
            raise RuntimeError

        assert callbacks and told == []

    def test_a_login_is_not_told(self, told, django_capture_on_commit_callbacks):
        person = StaffFactory()

        with django_capture_on_commit_callbacks(execute=True):
            person.save(update_fields=["last_login"])

        assert told == []

    def test_a_role_taken_away_is_told(self, told, django_capture_on_commit_callbacks):
        person = StaffFactory()

        with django_capture_on_commit_callbacks(execute=True):
            person.groups.remove(Group.objects.get(name=Role.STAFF))

        assert person.pk in people_told(told)

    def test_a_roles_capability_taken_away_is_told_to_everyone_holding_it(
        self, told, django_capture_on_commit_callbacks
    ):
        holders = [StaffFactory(), StaffFactory()]
        staff = Group.objects.get(name=Role.STAFF)

        with django_capture_on_commit_callbacks(execute=True):
            staff.permissions.remove(*staff.permissions.filter(codename="view_incident"))

        assert {person.pk for person in holders} <= people_told(told)

    def test_a_move_to_another_department_is_told(self, told, django_capture_on_commit_callbacks):
        person = StaffFactory(department=Department.objects.get(code="FAE"))

        with django_capture_on_commit_callbacks(execute=True):
            employee_move(
                employee=person, department=Department.objects.get(code="EE"), by=AdminFactory()
            )

        assert person.pk in people_told(told)

    def test_a_department_changed_by_an_import_is_told(
        self, told, django_capture_on_commit_callbacks
    ):
        person = StaffFactory(department=Department.objects.get(code="FAE"))

        with django_capture_on_commit_callbacks(execute=True):
            employees_import(
                changed=[(person, {"department": Department.objects.get(code="EE")})], by=None
            )

        assert person.pk in people_told(told)


class RestrictionTests:
    def test_restricting_a_project_is_told_with_its_name(
        self, told, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            restriction = ProjectAccess.objects.create(project="G18")
            restriction.departments.add(Department.objects.get(code="FAE"))

        assert projects_told(told) == {"G18"}

    def test_someone_taken_off_a_restriction_is_told_as_its_project(
        self, told, django_capture_on_commit_callbacks
    ):
        person = StaffFactory()
        restriction = ProjectAccess.objects.create(project="G18")
        restriction.people.add(person)

        with django_capture_on_commit_callbacks(execute=True):
            person.project_accesses.remove(restriction)

        assert projects_told(told) == {"G18"}

    def test_a_device_moved_into_a_restricted_project_is_told(
        self, told, django_capture_on_commit_callbacks
    ):
        ProjectAccess.objects.create(project="G18")
        device = DeviceFactory(project="Open")

        with django_capture_on_commit_callbacks(execute=True):
            device_update(device=device, by=AdminFactory(), project="g18")

        assert projects_told(told) == {"g18"}

    def test_a_device_changed_within_open_projects_is_not_told(
        self, told, django_capture_on_commit_callbacks
    ):
        device, admin = DeviceFactory(project="Open"), AdminFactory()

        with django_capture_on_commit_callbacks(execute=True):
            device_update(device=device, by=admin, project="Also open")

        assert told == []


@pytest.fixture
def workflow_told():
    """What incident_changed and record_added said, once the test's changes committed."""
    heard = []

    def receiver(signal, sender, **told):
        heard.append({"signal": signal, **told})

    for signal in (incident_changed, record_added):
        signal.connect(receiver, dispatch_uid="test-workflow-told")
    yield heard
    for signal in (incident_changed, record_added):
        signal.disconnect(dispatch_uid="test-workflow-told")


class WorkflowTests:
    def test_an_incident_opened_and_assigned_is_told_as_changed_on_commit(
        self, workflow_told, django_capture_on_commit_callbacks
    ):
        team = build_team()
        supervisor, worker = team.supervisor(Stage.FAE_RETEST), team.worker(Stage.FAE_RETEST)

        with django_capture_on_commit_callbacks(execute=True):
            incident = open_incident(team, Stage.FAE_RETEST)
            incident_assign(incident=incident, assignee=worker, by=supervisor)
            assert workflow_told == []

        opening, assignment = incident.events.order_by("created_at", "id")
        assert workflow_told == [
            {
                "signal": incident_changed,
                "incident_id": incident.pk,
                "event_id": opening.pk,
                "action": WorkflowAction.OPEN,
            },
            {
                "signal": incident_changed,
                "incident_id": incident.pk,
                "event_id": assignment.pk,
                "action": WorkflowAction.ASSIGN,
            },
        ]

    def test_a_record_and_a_result_are_told_as_added_with_the_records_files(
        self, workflow_told, django_capture_on_commit_callbacks
    ):
        team = build_team()
        incident, worker = assigned(team), team.worker(Stage.FAE_RETEST)
        log = SimpleUploadedFile("retest.log", b"BT_RSSI -92 dBm FAIL\n")

        with django_capture_on_commit_callbacks(execute=True):
            operation_record_add(incident=incident, by=worker, action="Retest", files=[log])
            analysis_result_add(
                incident=incident, by=worker, findings="Reproduced", verdict=Verdict.FAIL
            )

        record, result = incident.events.filter(
            action__in=[WorkflowAction.RECORD, WorkflowAction.RESULT]
        ).order_by("created_at", "id")
        assert [(t["signal"], t["event_id"], t["action"], t["files"]) for t in workflow_told] == [
            (record_added, record.pk, WorkflowAction.RECORD, ["retest.log"]),
            (record_added, result.pk, WorkflowAction.RESULT, []),
        ]

    def test_a_change_rolled_back_is_never_told(
        self, workflow_told, django_capture_on_commit_callbacks
    ):
        team = build_team()
        incident = open_incident(team, Stage.FAE_RETEST)

        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises(RuntimeError),
            transaction.atomic(),
        ):
            incident_assign(
                incident=incident,
                assignee=team.worker(Stage.FAE_RETEST),
                by=team.supervisor(Stage.FAE_RETEST),
            )
            raise RuntimeError("the request failed after the assignment")

        assert callbacks == []
        assert workflow_told == []

    def test_a_listener_that_fails_never_fails_the_change_nor_the_listeners_after_it(
        self, workflow_told, django_capture_on_commit_callbacks, caplog
    ):
        def broken(sender, **kwargs):
            raise ConnectionError("a listener is down")

        team = build_team()
        incident = open_incident(team, Stage.FAE_RETEST)
        incident_changed.connect(broken, dispatch_uid="test-broken")
        try:
            with django_capture_on_commit_callbacks(execute=True):
                incident_assign(
                    incident=incident,
                    assignee=team.worker(Stage.FAE_RETEST),
                    by=team.supervisor(Stage.FAE_RETEST),
                )
        finally:
            incident_changed.disconnect(dispatch_uid="test-broken")

        incident.refresh_from_db()
        assert incident.step == Step.ASSIGNED
        assert [told["action"] for told in workflow_told] == [WorkflowAction.ASSIGN]
        assert "a listener is down" in caplog.text

    def test_details_edited_are_not_told(self, workflow_told, django_capture_on_commit_callbacks):
        team = build_team()
        incident = open_incident(team, Stage.FAE_RETEST)

        with django_capture_on_commit_callbacks(execute=True):
            incident_update(incident=incident, by=team.admin, description="Fails at station 4")

        assert workflow_told == []
