"""The audit trail outlives deletions. Incidents are cancelled, not deleted: only a superuser
deletes one, after Django's confirmation page, and its timeline, records, results, attachments
and history stay. People named in a trail are deactivated, not deleted."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django.urls import reverse

from incidents import rules
from incidents.choices import Stage, Verdict
from incidents.models import (
    AnalysisResult,
    Attachment,
    Employee,
    Incident,
    IncidentEvent,
    OperationRecord,
)
from incidents.services import (
    WorkflowError,
    analysis_result_add,
    incident_assign,
    operation_record_add,
)
from locations.models import Device
from locations.selectors import device_trail
from locations.services import device_move
from tests.factories import (
    PASSWORD,
    AdminFactory,
    DeviceFactory,
    EmployeeFactory,
    LocationFactory,
    StaffFactory,
    SuperuserFactory,
)
from tests.incidents.test_workflow import assigned, build_team, open_incident

pytestmark = pytest.mark.django_db

INCIDENTS = "admin:incidents_incident_changelist"
EMPLOYEES = "admin:incidents_employee_changelist"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def action_names(model, user) -> set[str]:
    request = RequestFactory().get("/admin/")
    request.user = user
    return set(admin.site._registry[model].get_actions(request))


@pytest.fixture
def team():
    return build_team()


def worked_incident(team) -> Incident:
    """An incident with a timeline, an operation record with an attachment and a result."""
    incident = assigned(team, Stage.FAE_RETEST)
    worker = team.worker(Stage.FAE_RETEST)
    record = operation_record_add(
        incident=incident,
        by=worker,
        action="Retested on station 3",
        files=[SimpleUploadedFile("station3.log", b"BT_RSSI -92 dBm FAIL\n", "text/plain")],
    )
    analysis_result_add(
        incident=incident,
        by=worker,
        findings="Reproduced the failure",
        verdict=Verdict.FAIL,
        operation_record=record,
    )
    return incident


def trail_of(incident_id: int) -> dict:
    """Everything that records what happened to incident `incident_id`, row by row."""
    return {
        "events": sorted(
            IncidentEvent.objects.filter(incident_id=incident_id).values_list("pk", flat=True)
        ),
        "records": sorted(
            OperationRecord.objects.filter(incident_id=incident_id).values_list("pk", flat=True)
        ),
        "results": sorted(
            AnalysisResult.objects.filter(incident_id=incident_id).values_list("pk", flat=True)
        ),
        "attachments": sorted(
            Attachment.objects.filter(record__incident_id=incident_id).values_list("pk", flat=True)
        ),
        "history": sorted(
            Incident.history.filter(id=incident_id).values_list("history_id", flat=True)
        ),
    }


class SuperuserDeletesAnIncidentTests:
    def test_the_superuser_is_asked_to_confirm_first(self, team):
        incident = worked_incident(team)
        url = reverse("admin:incidents_incident_delete", args=[incident.pk])

        response = client_for(SuperuserFactory()).get(url)

        assert response.status_code == 200
        assert "admin/delete_confirmation.html" in [t.name for t in response.templates]
        assert Incident.objects.filter(pk=incident.pk).exists()

    def test_the_timeline_records_results_attachments_and_history_stay(self, team):
        incident = worked_incident(team)
        before = trail_of(incident.pk)
        assert all(before.values())

        response = client_for(SuperuserFactory()).post(
            reverse("admin:incidents_incident_delete", args=[incident.pk]), {"post": "yes"}
        )

        assert response.status_code == 302
        assert not Incident.objects.filter(pk=incident.pk).exists()
        after = trail_of(incident.pk)
        assert {key: after[key] for key in before if key != "history"} == {
            key: before[key] for key in before if key != "history"
        }
        # The history keeps every version, and records the deletion as one more.
        assert set(before["history"]) < set(after["history"])
        assert Incident.history.filter(id=incident.pk).latest().history_type == "-"

    def test_the_bulk_delete_of_a_superuser_keeps_the_trails_too(self, team):
        incidents = [worked_incident(team), open_incident(team)]
        before = {incident.pk: trail_of(incident.pk) for incident in incidents}

        client_for(SuperuserFactory()).post(
            reverse(INCIDENTS),
            {
                "action": "delete_selected",
                "_selected_action": [incident.pk for incident in incidents],
                "post": "yes",
            },
        )

        assert not Incident.objects.filter(pk__in=before).exists()
        for pk, trail in before.items():
            assert trail_of(pk)["events"] == trail["events"]
            assert trail_of(pk)["records"] == trail["records"]


class NobodyElseDeletesIncidentsTests:
    def test_an_administrator_cannot_open_the_delete_page(self, team):
        incident = worked_incident(team)

        response = client_for(AdminFactory()).post(
            reverse("admin:incidents_incident_delete", args=[incident.pk]), {"post": "yes"}
        )

        assert response.status_code == 403
        assert Incident.objects.filter(pk=incident.pk).exists()

    def test_even_a_granted_delete_permission_does_not_allow_it(self, team):
        incident = worked_incident(team)
        person = StaffFactory()
        person.user_permissions.add(
            Permission.objects.get(content_type__app_label="incidents", codename="delete_incident")
        )
        person = Employee.objects.get(pk=person.pk)
        assert person.has_perm("incidents.delete_incident")

        response = client_for(person).get(
            reverse("admin:incidents_incident_delete", args=[incident.pk])
        )

        assert response.status_code == 403
        assert "delete_selected" not in action_names(Incident, person)

    def test_the_bulk_delete_action_is_offered_to_superusers_only(self):
        assert "delete_selected" in action_names(Incident, SuperuserFactory())
        assert "delete_selected" not in action_names(Incident, AdminFactory())
        assert "delete_selected" not in action_names(Incident, StaffFactory())

    def test_a_posted_bulk_delete_by_an_administrator_deletes_nothing(self, team):
        incident = worked_incident(team)

        client_for(AdminFactory()).post(
            reverse(INCIDENTS),
            {"action": "delete_selected", "_selected_action": [incident.pk], "post": "yes"},
        )

        assert Incident.objects.filter(pk=incident.pk).exists()


def held_once() -> Employee:
    """Someone who held a device and handed it on: named only in the device's history."""
    person, device = StaffFactory(), DeviceFactory()
    device_move(device=device, moved_by=None, holder=person)
    device_move(device=device, moved_by=None, holder=StaffFactory())
    return person


def moved_a_device() -> Employee:
    """Someone who moved a device: named as who made the change in its history."""
    person = StaffFactory()
    device_move(device=DeviceFactory(), moved_by=person, location=LocationFactory())
    return person


def delete_employee(by, person):
    return client_for(by).post(
        reverse("admin:incidents_employee_delete", args=[person.pk]), {"post": "yes"}
    )


class DeletingPeopleTests:
    @pytest.mark.parametrize("named_in_trail", [held_once, moved_a_device])
    def test_someone_named_in_a_device_trail_is_not_deleted(self, named_in_trail):
        person = named_in_trail()
        trail = list(Device.history.values_list("history_id", "holder_id", "history_user_id"))

        response = delete_employee(SuperuserFactory(), person)

        assert response.status_code == 200
        assert "deactivate it instead of deleting it" in response.content.decode()
        assert Employee.objects.filter(pk=person.pk).exists()
        assert list(Device.history.values_list("history_id", "holder_id", "history_user_id")) == (
            trail
        )

    def test_someone_on_an_incident_timeline_is_told_to_deactivate_instead(self, team):
        incident = assigned(team, Stage.FAE_RETEST)
        supervisor = team.supervisor(Stage.FAE_RETEST)
        assert incident.events.filter(actor=supervisor).exists()

        response = delete_employee(SuperuserFactory(), supervisor)

        page = response.content.decode()
        assert "deactivate it instead of deleting it" in page
        assert "timeline entries" in page
        assert Employee.objects.filter(pk=supervisor.pk).exists()

    def test_the_bulk_delete_refuses_the_whole_selection(self):
        named, unnamed = held_once(), EmployeeFactory()

        response = client_for(SuperuserFactory()).post(
            reverse(EMPLOYEES),
            {
                "action": "delete_selected",
                "_selected_action": [named.pk, unnamed.pk],
                "post": "yes",
            },
        )

        assert "deactivate it instead of deleting it" in response.content.decode()
        assert Employee.objects.filter(pk__in=[named.pk, unnamed.pk]).count() == 2

    def test_someone_no_trail_names_can_still_be_deleted(self):
        person = EmployeeFactory()

        response = delete_employee(AdminFactory(), person)

        assert response.status_code == 302
        assert not Employee.objects.filter(pk=person.pk).exists()


def deactivate(by, *people):
    return client_for(by).post(
        reverse(EMPLOYEES),
        {"action": "deactivate_selected", "_selected_action": [p.pk for p in people]},
        follow=True,
    )


class DeactivatingPeopleTests:
    def test_an_administrator_deactivates_the_selected_people(self):
        people = [held_once(), StaffFactory()]

        deactivate(AdminFactory(), *people)

        assert not Employee.objects.filter(pk__in=[p.pk for p in people], is_active=True).exists()

    def test_a_deactivated_person_cannot_log_in(self):
        person = StaffFactory()

        deactivate(AdminFactory(), person)

        assert not Client().login(username=person.username, password=PASSWORD)

    def test_a_deactivated_person_cannot_be_assigned(self, team):
        incident = open_incident(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)

        deactivate(AdminFactory(), worker)

        assert rules.assignment_refusal(incident, Employee.objects.get(pk=worker.pk))
        with pytest.raises(WorkflowError):
            incident_assign(
                incident=incident,
                assignee=Employee.objects.get(pk=worker.pk),
                by=team.supervisor(Stage.FAE_RETEST),
            )

    def test_trails_keep_showing_a_deactivated_persons_name(self):
        person, device = StaffFactory(display_name="Lin Wei"), DeviceFactory()
        device_move(device=device, moved_by=person, holder=person)

        deactivate(AdminFactory(), person)

        entry = device_trail(device)[0]
        assert entry.to_holder.get_full_name() == entry.by.get_full_name() == "Lin Wei"
        page = client_for(SuperuserFactory()).get(
            reverse("admin:locations_device_change", args=[device.pk])
        )
        assert "Lin Wei" in page.content.decode()

    def test_nobody_deactivates_their_own_account(self):
        administrator = AdminFactory()

        response = deactivate(administrator, administrator)

        assert Employee.objects.get(pk=administrator.pk).is_active
        assert "You cannot deactivate your own account." in messages_of(response)

    def test_the_action_is_offered_to_those_who_may_change_people(self):
        assert "deactivate_selected" in action_names(Employee, AdminFactory())
        assert "deactivate_selected" not in action_names(Employee, StaffFactory())

    def test_an_administrator_cannot_deactivate_a_superuser(self):
        superuser = SuperuserFactory()

        deactivate(AdminFactory(), superuser)

        assert Employee.objects.get(pk=superuser.pk).is_active
