"""Departments as administrators run them (incidents/services/departments.py and their pages):
deactivating a department, taking its last supervisor and giving it a stage are refused while
they would leave work without anyone to do it, with what to do first; people move between
departments with their open incidents handed over through the workflow, never left behind."""

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from incidents.choices import DepartmentCode, EventNote, Role, Stage, Step, WorkflowAction
from incidents.legacy.columns import SheetKind, headers
from incidents.legacy.importer import ALL_LISTED, LegacyImporter
from incidents.models import Department, Employee, Incident, Notification, StageOwnership
from incidents.resources import EmployeeResource
from incidents.services import (
    WorkflowError,
    department_save,
    department_set_supervisors,
    employee_move,
    incident_assign,
    stage_ownership_check,
    stage_ownership_save,
)
from tests.factories import DepartmentFactory, StaffFactory
from tests.incidents.test_people import change_data
from tests.incidents.test_resources import import_rows
from tests.incidents.test_workflow import Team, assigned, build_team, open_incident, submitted

pytestmark = pytest.mark.django_db


@pytest.fixture
def team() -> Team:
    return build_team()


def department(code: str) -> Department:
    return Department.objects.get(code=code)


def client_for(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def legacy_workbook(path, people: list[tuple]) -> str:
    """A legacy workbook listing `people` (number, name, login, e-mail, department, role) and
    nothing else."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, kind, rows in (
        ("员工", SheetKind.EMPLOYEES, people),
        ("位置", SheetKind.LOCATIONS, []),
        ("异常设备登记", SheetKind.REGISTER, []),
        ("位置变更记录", SheetKind.TRAIL, []),
    ):
        sheet = book.create_sheet(name)
        sheet.append(list(headers(kind)))
        for row in rows:
            sheet.append(list(row))
    book.save(path)
    return str(path)


def department_form(dept: Department, **changes) -> dict:
    """The department page's form as a browser posts it back unchanged, with `changes`."""
    data = {
        "code": dept.code,
        "name": dept.name,
        "name_zh": dept.name_zh,
        "description": dept.description,
        "is_active": "on" if dept.is_active else "",
        "supervisors": [person.pk for person in dept.supervisors.all()],
        "members": [person.pk for person in dept.employees.all()],
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


class DeactivationTests:
    def test_a_department_that_owns_a_stage_is_not_deactivated(self, team):
        fae = department(DepartmentCode.FAE)
        fae.is_active = False

        with pytest.raises(ValidationError) as refused:
            department_save(department=fae, by=team.admin)

        assert (
            "give them to another department in Settings → Stage ownership"
            in refused.value.message_dict["is_active"][0]
        )
        assert department(DepartmentCode.FAE).is_active

    def test_a_department_whose_members_have_open_incidents_is_not_deactivated(self, team):
        quality = DepartmentFactory(code="QA")
        # A member of QA who also supervises FAE, and so works an FAE stage.
        busy = StaffFactory(department=quality)
        department(DepartmentCode.FAE).supervisors.add(busy)
        incident = open_incident(team, Stage.FAE_RETEST)
        incident_assign(incident=incident, assignee=busy, by=team.supervisor(Stage.FAE_RETEST))
        quality.is_active = False

        with pytest.raises(ValidationError) as refused:
            department_save(department=quality, by=team.admin)

        message = refused.value.message_dict["is_active"][0]
        assert str(busy) in message and "still has open assignments" in message
        assert Department.objects.get(pk=quality.pk).is_active

    def test_a_department_without_stages_or_busy_members_is_deactivated(self, team):
        quality = DepartmentFactory(code="QA")
        StaffFactory(department=quality)
        quality.is_active = False

        department_save(department=quality, by=team.admin)

        assert not Department.objects.get(pk=quality.pk).is_active

    def test_the_department_page_refuses_it_and_says_what_to_do_first(self, team):
        fae = department(DepartmentCode.FAE)
        url = reverse("admin:incidents_department_change", args=[fae.pk])

        response = client_for(team.admin).post(url, department_form(fae, is_active=""))

        assert response.status_code == 200
        assert "Stage ownership before deactivating it" in response.content.decode()
        assert department(DepartmentCode.FAE).is_active

    def test_nobody_moves_into_an_inactive_department(self, team):
        closed = DepartmentFactory(code="OLD", is_active=False)
        person = StaffFactory()

        with pytest.raises(WorkflowError) as refused:
            employee_move(employee=person, department=closed, by=team.admin)

        assert "is inactive: reactivate it" in refused.value.message
        person.refresh_from_db()
        assert person.department_id != closed.pk


class LastSupervisorTests:
    def test_the_last_supervisor_of_a_department_with_open_incidents_stays(self, team):
        fae = department(DepartmentCode.FAE)
        open_incident(team, Stage.FAE_RETEST)

        with pytest.raises(ValidationError) as refused:
            department_set_supervisors(department=fae, supervisors=[])

        message = refused.value.message_dict["supervisors"][0]
        assert "where 1 incident is open" in message
        assert "Add another supervisor first" in message
        assert list(fae.supervisors.all()) == [team.supervisor(Stage.FAE_RETEST)]

    def test_the_last_supervisor_may_go_when_no_incident_is_open_in_its_stages(self, team):
        fae = department(DepartmentCode.FAE)
        open_incident(team, Stage.XRAY)

        department_set_supervisors(department=fae, supervisors=[])

        assert not fae.supervisors.exists()

    def test_another_supervisor_may_take_the_place_of_the_last_one(self, team):
        fae = department(DepartmentCode.FAE)
        open_incident(team, Stage.FAE_RETEST)

        department_set_supervisors(department=fae, supervisors=[team.fae_colleague])

        assert list(fae.supervisors.all()) == [team.fae_colleague]
        assert team.fae_colleague.has_role(Role.SUPERVISOR)

    def test_the_department_page_refuses_it_and_says_what_to_do_first(self, team):
        fae = department(DepartmentCode.FAE)
        open_incident(team, Stage.FAE_RETEST)
        url = reverse("admin:incidents_department_change", args=[fae.pk])

        response = client_for(team.admin).post(url, department_form(fae, supervisors=[]))

        assert response.status_code == 200
        assert "cannot lose its last supervisor" in response.content.decode()
        assert fae.supervisors.exists()


class StageOwnershipTests:
    def test_a_stage_is_not_given_to_an_inactive_department(self, team):
        closed = DepartmentFactory(code="OLD", is_active=False)
        ownership = StageOwnership.objects.get(stage=Stage.XRAY)
        ownership.department = closed

        with pytest.raises(ValidationError) as refused:
            stage_ownership_check(ownership=ownership)

        assert "is inactive" in refused.value.message_dict["department"][0]

    def test_a_stage_with_open_incidents_goes_only_to_a_department_with_a_supervisor(self, team):
        open_incident(team, Stage.XRAY)
        quality = DepartmentFactory(code="QA")
        ownership = StageOwnership.objects.get(stage=Stage.XRAY)
        ownership.department = quality

        with pytest.raises(ValidationError) as refused:
            stage_ownership_save(ownership=ownership)

        assert "has no supervisor" in refused.value.message_dict["department"][0]
        assert StageOwnership.objects.get(stage=Stage.XRAY).department.code == DepartmentCode.XRAY

        department_set_supervisors(department=quality, supervisors=[StaffFactory()])
        stage_ownership_save(ownership=ownership)

        assert StageOwnership.objects.get(stage=Stage.XRAY).department == quality

    def test_the_list_of_stages_refuses_it_in_its_editable_columns(self, team):
        open_incident(team, Stage.XRAY)
        quality = DepartmentFactory(code="QA")
        ownerships = list(StageOwnership.objects.order_by("id"))
        data = {
            "form-TOTAL_FORMS": str(len(ownerships)),
            "form-INITIAL_FORMS": str(len(ownerships)),
            "_save": "Save",
        }
        for index, ownership in enumerate(ownerships):
            data[f"form-{index}-id"] = str(ownership.pk)
            data[f"form-{index}-department"] = str(
                quality.pk if ownership.stage == Stage.XRAY else ownership.department_id
            )
            data[f"form-{index}-work_location"] = ownership.work_location_id or ""

        response = client_for(team.admin).post(
            reverse("admin:incidents_stageownership_changelist"), data
        )

        assert response.status_code == 200
        assert "has no supervisor" in response.content.decode()
        assert StageOwnership.objects.get(stage=Stage.XRAY).department.code == DepartmentCode.XRAY


class HandOverTests:
    def test_moving_a_person_hands_their_open_incidents_to_the_colleague_named(self, team):
        incident = assigned(team, Stage.FAE_RETEST)
        worker, colleague = team.worker(Stage.FAE_RETEST), team.fae_colleague
        ee = department(DepartmentCode.EE)

        employee_move(employee=worker, department=ee, by=team.admin, hand_over_to=colleague)

        incident.refresh_from_db()
        worker.refresh_from_db()
        assert worker.department == ee
        assert (incident.assignee, incident.step) == (colleague, Step.ASSIGNED)
        event = incident.events.order_by("-id").first()
        assert (event.action, event.note) == (WorkflowAction.ASSIGN, EventNote.ASSIGNEE_MOVED)
        assert (event.actor, event.assignee) == (team.admin, colleague)
        assert Notification.objects.filter(
            recipient=colleague, incident=incident, action=WorkflowAction.ASSIGN
        ).exists()

    def test_a_stage_waiting_for_review_is_handed_over_still_waiting(self, team):
        incident = submitted(team, Stage.FAE_RETEST)

        employee_move(
            employee=team.worker(Stage.FAE_RETEST),
            department=department(DepartmentCode.EE),
            by=team.admin,
            hand_over_to=team.fae_colleague,
        )

        incident.refresh_from_db()
        assert (incident.assignee, incident.step) == (team.fae_colleague, Step.SUBMITTED)

    def test_nobody_named_puts_the_incidents_back_in_the_queue(self, team):
        incident = assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)

        employee_move(
            employee=worker,
            department=department(DepartmentCode.EE),
            by=team.admin,
            hand_over_to=None,
        )

        incident.refresh_from_db()
        assert (incident.assignee, incident.step) == (None, Step.UNASSIGNED)
        event = incident.events.order_by("-id").first()
        assert (event.action, event.assignee) == (WorkflowAction.UNASSIGN, worker)

    def test_a_move_nobody_decided_the_hand_over_of_is_refused(self, team):
        incident = assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)

        with pytest.raises(WorkflowError) as refused:
            employee_move(employee=worker, department=department(DepartmentCode.EE), by=team.admin)

        assert f"(#{incident.pk}): hand it over first" in refused.value.message
        worker.refresh_from_db()
        assert worker.department.code == DepartmentCode.FAE
        assert Incident.objects.get(pk=incident.pk).assignee == worker

    def test_work_the_person_can_still_take_stays_with_them(self, team):
        # A supervisor of FAE working an FAE stage keeps it when their own department changes.
        fae_supervisor = team.supervisor(Stage.FAE_RETEST)
        incident = incident_assign(
            incident=open_incident(team, Stage.FAE_RETEST),
            assignee=fae_supervisor,
            by=fae_supervisor,
        )

        employee_move(
            employee=fae_supervisor, department=department(DepartmentCode.EE), by=team.admin
        )

        assert Incident.objects.get(pk=incident.pk).assignee == fae_supervisor

    def test_the_work_goes_only_to_someone_who_can_take_the_stage(self, team):
        incident = assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)

        with pytest.raises(WorkflowError) as refused:
            employee_move(
                employee=worker,
                department=department(DepartmentCode.EE),
                by=team.admin,
                hand_over_to=team.staff[DepartmentCode.EE],
            )

        assert f"Incident #{incident.pk} cannot be handed over" in refused.value.message
        assert Incident.objects.get(pk=incident.pk).assignee == worker

    def test_an_import_cannot_move_a_person_away_from_their_open_incidents(self, team):
        assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)

        result = import_rows(
            EmployeeResource,
            [{"employee number": worker.employee_number, "department": DepartmentCode.EE}],
            team.admin,
        )

        assert result.has_validation_errors()
        assert "hand it over first" in str(result.invalid_rows[0].error)
        worker.refresh_from_db()
        assert worker.department.code == DepartmentCode.FAE

    def test_a_legacy_workbook_leaves_a_person_with_open_incidents_where_they_are(
        self, team, tmp_path
    ):
        incident = assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)
        book = legacy_workbook(
            tmp_path / "people.xlsx",
            [(worker.employee_number, "Moved", worker.username, "", DepartmentCode.EE, "员工")],
        )

        # Even with the workbook's changes to people confirmed for the import.
        report = LegacyImporter(book, user=team.admin, confirmed_people=ALL_LISTED).run()

        assert report.ok, [str(error) for error in report.errors]
        skipped = [str(skipped) for skipped in report.skipped]
        assert skipped == [
            f"员工!2: 部门: {worker} has an open assignment the new department cannot take "
            f"(#{incident.pk}): hand it over first, by changing the department on the person's "
            "page, which asks to whom."
        ]
        worker.refresh_from_db()
        assert (worker.department.code, worker.display_name) == (DepartmentCode.FAE, "Moved")
        assert Incident.objects.get(pk=incident.pk).assignee == worker


class EmployeePageTests:
    def test_the_page_lists_their_open_incidents_and_offers_the_supervisor(self, team):
        incident = assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)

        page = client_for(team.admin).get(
            reverse("admin:incidents_employee_change", args=[worker.pk])
        )

        form = page.context["adminform"].form
        assert (
            reverse("admin:incidents_incident_change", args=[incident.pk]) in page.content.decode()
        )
        assert form["hand_over_to"].initial == str(team.supervisor(Stage.FAE_RETEST).pk)

    def test_a_person_without_open_incidents_is_asked_nothing(self, team):
        page = client_for(team.admin).get(
            reverse("admin:incidents_employee_change", args=[team.fae_colleague.pk])
        )

        assert "hand_over_to" not in page.context["adminform"].form.fields

    def test_changing_the_department_hands_the_work_over_as_chosen(self, team):
        incident = assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)
        ee = department(DepartmentCode.EE)

        response = client_for(team.admin).post(
            reverse("admin:incidents_employee_change", args=[worker.pk]),
            change_data(worker, department=ee.pk, hand_over_to=str(team.fae_colleague.pk)),
        )

        assert response.status_code == 302, response.content.decode()[:3000]
        assert Employee.objects.get(pk=worker.pk).department == ee
        assert Incident.objects.get(pk=incident.pk).assignee == team.fae_colleague

    def test_changing_the_department_can_send_the_work_back_to_the_queue(self, team):
        incident = assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)

        client_for(team.admin).post(
            reverse("admin:incidents_employee_change", args=[worker.pk]),
            change_data(worker, department=department(DepartmentCode.EE).pk, hand_over_to="queue"),
        )

        assert Incident.objects.get(pk=incident.pk).step == Step.UNASSIGNED

    def test_only_a_colleague_of_the_department_left_is_offered(self, team):
        assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)

        response = client_for(team.admin).post(
            reverse("admin:incidents_employee_change", args=[worker.pk]),
            change_data(
                worker,
                department=department(DepartmentCode.EE).pk,
                hand_over_to=str(team.staff[DepartmentCode.EE].pk),
            ),
        )

        assert response.status_code == 200
        assert "hand_over_to" in response.context["adminform"].form.errors
        assert Employee.objects.get(pk=worker.pk).department.code == DepartmentCode.FAE

    def test_a_colleague_who_cannot_take_the_stage_is_refused_with_the_reason(self, team):
        incident = assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)
        # Since the assignment, the X-ray lab took the FAE retest over.
        StageOwnership.objects.filter(stage=Stage.FAE_RETEST).update(
            department=department(DepartmentCode.XRAY)
        )

        response = client_for(team.admin).post(
            reverse("admin:incidents_employee_change", args=[worker.pk]),
            change_data(
                worker,
                department=department(DepartmentCode.EE).pk,
                hand_over_to=str(team.fae_colleague.pk),
            ),
        )

        assert response.status_code == 200
        assert (
            f"Incident #{incident.pk} cannot be handed over: {team.fae_colleague} is not an "
            "active member of X-ray lab"
        ) in response.context["adminform"].form.errors["department"][0]
        assert Incident.objects.get(pk=incident.pk).assignee == worker
        assert Employee.objects.get(pk=worker.pk).department.code == DepartmentCode.FAE


class DepartmentPageTests:
    def test_an_administrator_creates_a_department_with_its_supervisor_and_members(self, team):
        lead, member = StaffFactory(), StaffFactory()

        response = client_for(team.admin).post(
            reverse("admin:incidents_department_add"),
            {
                "code": "QA",
                "name": "Quality",
                "name_zh": "质量",
                "description": "",
                "is_active": "on",
                "supervisors": [lead.pk],
                "members": [lead.pk, member.pk],
            },
        )

        assert response.status_code == 302, response.content.decode()[:3000]
        quality = Department.objects.get(code="QA")
        assert list(quality.supervisors.all()) == [lead]
        assert set(quality.employees.all()) == {lead, member}
        assert Employee.objects.get(pk=lead.pk).has_role(Role.SUPERVISOR)

    def test_a_member_with_open_incidents_moves_on_their_own_page(self, team):
        assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)
        ee = department(DepartmentCode.EE)

        response = client_for(team.admin).post(
            reverse("admin:incidents_department_change", args=[ee.pk]),
            department_form(ee, members=[*ee.employees.values_list("pk", flat=True), worker.pk]),
        )

        assert response.status_code == 200
        assert "hand it over first" in response.content.decode()
        assert Employee.objects.get(pk=worker.pk).department.code == DepartmentCode.FAE
