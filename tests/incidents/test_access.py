"""Confidential projects (incidents.access): a restricted project is seen only by the departments
and people named on its restriction, administrators and superusers; everything made of its
devices (incidents, records, attachments, trails, notifications, chat, queues, dashboard figures,
digests, reports, scans, imports, Ctrl+K) is left out for everyone else, and the restriction
itself is configured on an audited admin page."""

import datetime
from dataclasses import dataclass

import pytest
import tablib
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import QuerySet
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from incidents import access, rules
from incidents.choices import (
    ConfigChangeAction,
    ConfigChangeKind,
    DepartmentCode,
    Stage,
    Step,
    WorkflowAction,
)
from incidents.dashboard import (
    Scope,
    department_load,
    open_by_stage_and_step,
    paretos,
    projects,
    stage_cycle_times,
)
from incidents.models import (
    Attachment,
    ConfigChange,
    Department,
    Employee,
    Incident,
    IncidentEvent,
    Notification,
    OperationRecord,
    ProjectAccess,
    StageOwnership,
)
from incidents.reports import problem_group_report
from incidents.resources import DeviceResource
from incidents.selectors import unread_notification_count, work_queue
from incidents.services import (
    WorkflowError,
    incident_assign,
    incident_open,
    operation_record_add,
)
from incidents.services.digest import department_digest, digest_send
from incidents.services.notifications import notify
from locations.codes import label_payload
from locations.models import Device, project_key
from locations.services import device_update
from messaging.models import Message, Room
from messaging.selectors import can_see_room, visible_rooms
from messaging.services import message_send, room_for
from tests.factories import (
    AdminFactory,
    DeviceFactory,
    LocationFactory,
    ProblemGroupFactory,
    StaffFactory,
    SuperuserFactory,
    SupervisorFactory,
)

pytestmark = pytest.mark.django_db

HIDDEN = "Falcon"  # the devices' project as written on them
OPEN = "Osprey"


@dataclass
class Cast:
    """FAE owns the incidents' stage; production and two named FAE people see the project, the
    other FAE supervisor and staff member do not."""

    restriction: ProjectAccess
    fae: Department
    inside_lead: Employee
    outside_lead: Employee
    inside_worker: Employee
    outside_worker: Employee
    production_staff: Employee
    hidden: Incident
    visible: Incident


def restrict(project: str, *, departments=(), people=()) -> ProjectAccess:
    restriction = ProjectAccess.objects.create(project=project)
    restriction.departments.add(*departments)
    restriction.people.add(*people)
    return restriction


def open_in(
    project: str, *, reporter: Employee, stage=Stage.FAE_RETEST, fail_item="", **device
) -> Incident:
    return incident_open(
        device=DeviceFactory(project=project, **device),
        reporter=reporter,
        description=f"Fails BT_RSSI at station 3 ({project})",
        stage=stage,
        fail_item=fail_item,
    )


@pytest.fixture
def cast() -> Cast:
    fae = Department.objects.get(code=DepartmentCode.FAE)
    production = Department.objects.get(code=DepartmentCode.PRODUCTION)
    inside_lead = SupervisorFactory(department=fae, email="inside@example.com")
    outside_lead = SupervisorFactory(department=fae, email="outside@example.com")
    fae.supervisors.add(inside_lead, outside_lead)
    inside_worker = StaffFactory(department=fae)
    outside_worker = StaffFactory(department=fae)
    production_staff = StaffFactory(department=production)
    # Restricted as "FALCON": the devices say "Falcon", and case does not matter.
    restriction = restrict(
        HIDDEN.upper(), departments=[production], people=[inside_lead, inside_worker]
    )
    return Cast(
        restriction=restriction,
        fae=fae,
        inside_lead=inside_lead,
        outside_lead=outside_lead,
        inside_worker=inside_worker,
        outside_worker=outside_worker,
        production_staff=production_staff,
        hidden=open_in(
            HIDDEN,
            reporter=production_staff,
            serial_number="SN-SECRET-1",
            fail_item="SECRET_ITEM",
        ),
        visible=open_in(
            OPEN, reporter=production_staff, serial_number="SN-OPEN-1", fail_item="BT_RSSI"
        ),
    )


def fresh(person: Employee) -> Employee:
    """The person as the next request reads them: no answer kept from an earlier one."""
    return Employee.objects.get(pk=person.pk)


def pks(queryset: QuerySet) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def told(person: Employee, incident: Incident) -> Notification:
    """An unread notification of an assignment, as one made before the project was restricted
    (notify() no longer tells people outside it)."""
    return Notification.objects.create(
        recipient=person, incident=incident, action=WorkflowAction.ASSIGN, stage=incident.stage
    )


def upload(name: str = "station3.log") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"RSSI -91 dBm", content_type="text/plain")


# --- 1. who sees a project --------------------------------------------------------------------
class WhoSeesAProjectTests:
    def test_a_project_without_a_restriction_is_seen_by_everyone_even_nobody(self):
        restrict(HIDDEN)

        for person in (StaffFactory(), SupervisorFactory(), StaffFactory(is_active=False), None):
            assert access.may_see_project(OPEN, person), person
            assert access.may_see_device(DeviceFactory(project=OPEN), person), person

    def test_a_member_of_a_named_department_sees_the_restricted_project(self):
        member = StaffFactory()
        restrict(HIDDEN, departments=[member.department])

        assert access.may_see_project(HIDDEN, member)
        assert access.hidden_projects(member) == frozenset()

    def test_a_named_person_sees_it_whatever_their_department(self):
        named = StaffFactory()
        restrict(HIDDEN, departments=[StaffFactory().department], people=[named])

        assert access.may_see_project(HIDDEN, named)

    def test_an_administrator_and_a_superuser_see_it_without_being_named(self):
        restrict(HIDDEN, departments=[StaffFactory().department])

        assert access.may_see_project(HIDDEN, AdminFactory())
        assert access.may_see_project(HIDDEN, SuperuserFactory())

    def test_nobody_else_sees_it_not_even_an_inactive_member_or_no_one(self):
        member = StaffFactory()
        restrict(HIDDEN, departments=[member.department], people=[member])
        member.is_active = False
        member.save()

        for person in (StaffFactory(), SupervisorFactory(), fresh(member), None):
            assert not access.may_see_project(HIDDEN, person), person
            assert access.hidden_projects(person) == frozenset({project_key(HIDDEN)}), person

    def test_an_inactive_superuser_sees_nothing_restricted(self):
        restrict(HIDDEN)

        assert not access.may_see_project(HIDDEN, SuperuserFactory(is_active=False))

    def test_projects_match_without_regard_to_case(self):
        restrict("falcon")
        outsider = StaffFactory()

        assert not access.may_see_device(DeviceFactory(project="Falcon"), outsider)
        assert not access.may_see_project("FALCON", outsider)
        assert access.may_see_device(DeviceFactory(project="Falcon-2"), outsider)
        assert access.may_see_device(None, outsider)

    def test_naming_a_department_afterwards_opens_the_project_to_the_same_person_object(self):
        person = StaffFactory()
        restriction = restrict(HIDDEN)
        assert not access.may_see_project(HIDDEN, person)  # the answer is kept on `person`

        restriction.departments.add(person.department)

        assert access.may_see_project(HIDDEN, person)

    def test_removing_a_person_and_lifting_a_restriction_are_seen_at_once(self):
        person = StaffFactory()
        restriction = restrict(HIDDEN, people=[person])
        assert access.may_see_project(HIDDEN, person)

        restriction.people.remove(person)
        assert not access.may_see_project(HIDDEN, person)

        restriction.delete()
        assert access.may_see_project(HIDDEN, person)


# --- 2. restrict() on every kind of row -------------------------------------------------------
class RestrictTests:
    def test_incidents_and_devices_of_the_hidden_project_are_dropped_for_an_outsider(self, cast):
        for outsider in (cast.outside_lead, cast.outside_worker):
            assert pks(access.restrict(Incident.objects.all(), outsider)) == {cast.visible.pk}
            assert pks(access.restrict(Device.objects.all(), outsider)) == {cast.visible.device_id}

    def test_an_insider_keeps_them(self, cast):
        for insider in (cast.inside_lead, cast.production_staff, AdminFactory()):
            assert pks(access.restrict(Incident.objects.all(), insider)) == {
                cast.hidden.pk,
                cast.visible.pk,
            }
            assert cast.hidden.device_id in pks(access.restrict(Device.objects.all(), insider))

    def test_records_and_their_attachments_follow_their_incident(self, cast):
        incident_assign(incident=cast.hidden, assignee=cast.inside_worker, by=cast.inside_lead)
        record = operation_record_add(
            incident=cast.hidden, by=cast.inside_worker, action="Retest", files=[upload()]
        )
        attachment = record.attachments.get()

        assert record.pk not in pks(
            access.restrict(OperationRecord.objects.all(), cast.outside_lead)
        )
        assert attachment.pk not in pks(
            access.restrict(Attachment.objects.all(), cast.outside_lead)
        )
        assert record.pk in pks(access.restrict(OperationRecord.objects.all(), cast.inside_lead))
        assert attachment.pk in pks(access.restrict(Attachment.objects.all(), cast.inside_lead))

    def test_notifications_about_a_hidden_incident_are_dropped_others_kept(self, cast):
        # Told before the project was restricted: kept, but no longer shown to the outsider.
        about_hidden, about_visible = (
            told(cast.outside_worker, incident) for incident in (cast.hidden, cast.visible)
        )
        not_about_an_incident = Notification.objects.create(
            recipient=cast.outside_worker,
            problem_group=ProblemGroupFactory(),
            action=WorkflowAction.MENTION,
        )
        about_hidden_to_insider = told(cast.inside_worker, cast.hidden)

        assert pks(access.restrict(Notification.objects.all(), cast.outside_worker)) == {
            about_visible.pk,
            not_about_an_incident.pk,
        }
        assert about_hidden.pk not in pks(access.restrict(Notification.objects.all(), None))
        assert about_hidden_to_insider.pk in pks(
            access.restrict(Notification.objects.all(), cast.inside_worker)
        )

    def test_an_outsider_is_not_notified_of_a_hidden_incident(self, cast):
        sent = notify(
            incident=cast.hidden,
            action=WorkflowAction.ASSIGN,
            recipients=[cast.outside_worker, cast.inside_worker],
            actor=cast.inside_lead,
        )

        assert [notification.recipient for notification in sent] == [cast.inside_worker]

    def test_chat_rooms_and_messages_of_a_hidden_incident_are_dropped(self, cast):
        hidden_room, visible_room = room_for(incident=cast.hidden), room_for(incident=cast.visible)
        group_room = room_for(problem_group=ProblemGroupFactory())
        secret, _new = message_send(room=hidden_room, author=cast.inside_worker, text="Pad lifted")
        public, _new = message_send(room=visible_room, author=cast.outside_worker, text="Hello")

        assert pks(access.restrict(Room.objects.all(), cast.outside_worker)) == {
            visible_room.pk,
            group_room.pk,
        }
        assert pks(access.restrict(Message.objects.all(), cast.outside_worker)) == {public.pk}
        assert pks(access.restrict(Message.objects.all(), cast.inside_worker)) == {
            secret.pk,
            public.pk,
        }

    def test_the_chat_of_a_deleted_hidden_incident_stays_hidden(self, cast):
        room = room_for(incident=cast.hidden)
        secret, _new = message_send(room=room, author=cast.inside_worker, text="Pad lifted")

        Incident.objects.filter(pk=cast.hidden.pk).delete()

        assert room.pk not in pks(visible_rooms(cast.outside_worker))
        assert secret.pk not in pks(access.restrict(Message.objects.all(), cast.outside_worker))

    def test_every_past_version_of_a_hidden_device_is_dropped_whatever_project_it_named(self):
        device = DeviceFactory(project=OPEN)
        device_update(device=device, project=HIDDEN, reason="Moved to the customer's project")
        assert set(device.history.values_list("project", flat=True)) == {OPEN, HIDDEN}
        restrict(HIDDEN)

        outsider, admin = StaffFactory(), AdminFactory()

        assert not access.restrict(Device.history.filter(id=device.pk), outsider).exists()
        assert access.restrict(Device.history.filter(id=device.pk), admin).count() == 2

    def test_past_versions_of_a_hidden_incident_are_dropped(self, cast):
        history = Incident.history.filter(id=cast.hidden.pk)
        assert history.exists()

        assert not access.restrict(history, cast.outside_lead).exists()
        assert access.restrict(history, cast.inside_lead).exists()


# --- 3. the workflow's rules ------------------------------------------------------------------
class VisibleToTests:
    """Each model says once how its rows reach their project, and its querysets answer
    `visible_to(user)` with what `restrict` leaves."""

    def test_every_model_of_a_project_declares_its_path_and_answers_visible_to(self, cast):
        from django.apps import apps

        declared = {
            model._meta.label_lower
            for model in apps.get_models()
            if access.project_path(model) is not None
        }
        for label in declared:
            model = apps.get_model(label)
            if hasattr(model, "instance_type"):
                continue  # a past version's rows are django-simple-history's, asked of restrict
            rows = model._default_manager.all()
            for person in (cast.outside_lead, cast.inside_lead):
                assert pks(rows.visible_to(person)) == pks(access.restrict(rows, person)), label
        # The device, everything made of it, and the past versions of both.
        assert {
            "locations.device",
            "locations.historicaldevice",
            "incidents.incident",
            "incidents.historicalincident",
            "incidents.incidentevent",
            "incidents.operationrecord",
            "incidents.analysisresult",
            "incidents.attachment",
            "incidents.notification",
            "messaging.room",
            "messaging.message",
            "messaging.messageattachment",
            "messaging.evidence",
        } <= declared
        assert access.project_path(Employee) is None

    def test_related_rows_answer_it_too(self, cast):
        group = ProblemGroupFactory()
        Incident.objects.filter(pk__in=[cast.hidden.pk, cast.visible.pk]).update(
            problem_group=group
        )

        assert pks(group.incidents.visible_to(cast.outside_worker)) == {cast.visible.pk}
        assert pks(group.incidents.visible_to(cast.inside_worker)) == {
            cast.hidden.pk,
            cast.visible.pk,
        }


class IncidentForTests:
    def test_an_incident_is_fetched_and_checked_together(self, cast):
        assert access.incident_for(cast.inside_worker, cast.hidden.pk) == cast.hidden
        assert access.incident_for(cast.outside_worker, cast.visible.pk) == cast.visible

    def test_hidden_and_missing_are_the_same_answer(self, cast):
        from django.http import Http404

        for pk in (cast.hidden.pk, cast.hidden.pk + 10_000):
            with pytest.raises(Http404):
                access.incident_for(cast.outside_worker, pk)

    def test_without_the_role_to_see_incidents_it_is_refused(self, cast):
        from django.core.exceptions import PermissionDenied

        nobody = Employee.objects.create_user(username="no-role", password="x")
        inactive = fresh(cast.inside_worker)
        inactive.is_active = False

        for person in (nobody, inactive, None):
            with pytest.raises(PermissionDenied):
                access.incident_for(person, cast.visible.pk)

    def test_the_page_may_add_what_it_reads(self, cast):
        rows = Incident.objects.select_related("device")

        incident = access.incident_for(cast.inside_lead, cast.hidden.pk, rows)

        assert incident.device.serial_number == "SN-SECRET-1"


class RulesTests:
    def test_an_outsider_may_not_view_the_incident_an_insider_may(self, cast):
        assert not rules.can_view(cast.hidden, cast.outside_worker)
        assert not rules.can_view(cast.hidden, cast.outside_lead)
        assert rules.can_view(cast.hidden, cast.inside_worker)
        assert rules.can_view(cast.visible, cast.outside_worker)

    def test_a_member_of_the_owning_department_who_may_not_see_it_is_not_assignable(self, cast):
        people = set(rules.assignable_people(cast.hidden))

        assert {cast.inside_lead, cast.inside_worker} <= people
        assert cast.outside_worker not in people and cast.outside_lead not in people
        assert cast.outside_worker in set(rules.assignable_people(cast.visible))

    def test_the_assignment_refusal_names_the_confidential_project(self, cast):
        reason = rules.assignment_refusal(cast.hidden, cast.outside_worker)

        assert reason is not None
        assert "confidential" in reason and HIDDEN in reason
        assert str(cast.outside_worker) in reason
        assert rules.assignment_refusal(cast.hidden, cast.inside_worker) is None

    def test_a_supervisor_outside_the_project_is_refused_the_assignment(self, cast):
        reason = rules.refusal(cast.hidden, WorkflowAction.ASSIGN, cast.outside_lead)

        assert reason == f"Incident #{cast.hidden.pk} is not open to you."
        assert rules.refusal(cast.hidden, WorkflowAction.ASSIGN, cast.inside_lead) is None
        assert rules.refusal(cast.visible, WorkflowAction.ASSIGN, cast.outside_lead) is None

    def test_the_assign_service_refuses_an_outsider_supervisor_and_changes_nothing(self, cast):
        with pytest.raises(WorkflowError, match="not open to you"):
            incident_assign(incident=cast.hidden, assignee=cast.inside_worker, by=cast.outside_lead)

        cast.hidden.refresh_from_db()
        assert (cast.hidden.step, cast.hidden.assignee) == (Step.UNASSIGNED, None)

    def test_the_assign_service_refuses_an_outsider_assignee(self, cast):
        with pytest.raises(WorkflowError, match="confidential"):
            incident_assign(incident=cast.hidden, assignee=cast.outside_worker, by=cast.inside_lead)

        cast.hidden.refresh_from_db()
        assert cast.hidden.assignee is None


# --- 4. queues and counts ---------------------------------------------------------------------
class QueueTests:
    def test_the_unassigned_queue_counts_only_visible_incidents(self, cast):
        assert pks(work_queue(cast.outside_lead, "unassigned")) == {cast.visible.pk}
        assert pks(work_queue(cast.inside_lead, "unassigned")) == {cast.hidden.pk, cast.visible.pk}

    def test_unread_notifications_of_a_hidden_incident_are_not_counted(self, cast):
        for incident in (cast.hidden, cast.visible):
            for person in (cast.outside_worker, cast.inside_worker):
                told(person, incident)

        assert unread_notification_count(cast.outside_worker) == 1
        assert unread_notification_count(cast.inside_worker) == 2


# --- 5. the dashboard -------------------------------------------------------------------------
class DashboardTests:
    def test_figures_leave_out_the_hidden_projects_incidents_for_an_outsider(self, cast):
        waiting = (Stage.FAE_RETEST, Step.UNASSIGNED)

        assert open_by_stage_and_step(Scope(viewer=cast.outside_lead)) == {waiting: 1}
        assert open_by_stage_and_step(Scope(viewer=cast.inside_lead)) == {waiting: 2}
        assert [row["value"] for row in paretos(Scope(viewer=cast.outside_lead))["fail_item"]] == [
            "BT_RSSI"
        ]
        assert {row["value"] for row in paretos(Scope(viewer=cast.inside_lead))["fail_item"]} == {
            "BT_RSSI",
            "SECRET_ITEM",
        }

    def test_nobodys_scope_counts_only_unrestricted_projects(self, cast):
        assert open_by_stage_and_step(Scope()) == {(Stage.FAE_RETEST, Step.UNASSIGNED): 1}

    def test_the_time_in_stages_counts_only_visible_visits(self, cast):
        now = timezone.now()
        for incident in (cast.hidden, cast.visible):
            IncidentEvent.objects.create(
                incident=incident,
                action=WorkflowAction.OPEN,
                to_stage=Stage.REPORTED,
                created_at=now - datetime.timedelta(hours=2),
                left_at=now - datetime.timedelta(hours=1),
            )

        def reported(viewer) -> int:
            rows = stage_cycle_times(Scope(viewer=viewer))
            return {row["stage"]: row["count"] for row in rows}[Stage.REPORTED]

        assert reported(cast.outside_lead) == 1
        assert reported(cast.inside_lead) == 2

    def test_the_project_filter_offers_only_visible_projects(self, cast):
        assert projects(cast.outside_lead) == [OPEN]
        assert projects(cast.inside_lead) == [HIDDEN, OPEN]

    def test_the_department_load_counts_only_visible_incidents(self, cast):
        incident_assign(incident=cast.hidden, assignee=cast.inside_worker, by=cast.inside_lead)

        def load(viewer) -> dict:
            return {row["person"]: row["count"] for row in department_load(cast.fae, viewer)}

        assert load(cast.outside_lead)[cast.inside_worker] == 0
        assert load(cast.inside_lead)[cast.inside_worker] == 1


# --- 6. the daily digest ----------------------------------------------------------------------
class DigestTests:
    def test_a_department_digest_read_by_an_outsider_omits_hidden_incidents(self, cast):
        now = timezone.now()

        outside = department_digest(cast.fae, now=now, reader=cast.outside_lead)
        inside = department_digest(cast.fae, now=now, reader=cast.inside_lead)

        assert (outside.new, outside.new_count) == ([cast.visible], 1)
        assert (set(inside.new), inside.new_count) == ({cast.hidden, cast.visible}, 2)

    def test_two_supervisors_of_one_department_get_what_each_may_see(self, cast, settings):
        settings.DIGEST_OVERDUE_DAYS = 3

        assert digest_send(now=timezone.now() + datetime.timedelta(minutes=1)) == 2

        by_reader = {message.to[0]: message.body for message in mail.outbox}
        assert "SN-OPEN-1" in by_reader["outside@example.com"]
        assert "SN-SECRET-1" not in by_reader["outside@example.com"]
        assert "SN-OPEN-1" in by_reader["inside@example.com"]
        assert "SN-SECRET-1" in by_reader["inside@example.com"]


# --- 7. reports -------------------------------------------------------------------------------
class ReportTests:
    def test_a_problem_group_report_lists_only_the_incidents_its_reader_sees(self, cast):
        group = ProblemGroupFactory()
        Incident.objects.filter(pk__in=[cast.hidden.pk, cast.visible.pk]).update(
            problem_group=group
        )

        outside = problem_group_report(group, cast.outside_lead)
        inside = problem_group_report(group, cast.inside_lead)

        assert [report.incident for report in outside.reports] == [cast.visible]
        assert {report.incident for report in inside.reports} == {cast.hidden, cast.visible}


# --- 8. the scan station ----------------------------------------------------------------------
API = "admin:locations_device_scan_api"


def scanner(person: Employee):
    client = Client()
    client.force_login(person)

    def scan(obj) -> dict:
        response = client.post(
            reverse(API),
            {"op": "scan", "code": label_payload(obj)},
            content_type="application/json",
        )
        assert response.status_code == 200, response.content
        return response.json()

    return scan


class ScanStationTests:
    def test_scanning_a_hidden_device_as_an_outsider_is_refused_and_leaves_nothing_pending(
        self, cast
    ):
        device = cast.hidden.device
        trail = device.history.count()

        reply = scanner(cast.outside_worker)(device)

        assert reply["level"] == "error"
        assert "confidential project that is not open to you" in reply["message"]
        assert reply["pending"] == {}
        assert reply["device"] is None  # nothing of where it is
        assert device.history.count() == trail

    def test_an_outsider_cannot_move_it_even_with_a_place_scanned_first(self, cast):
        device = cast.hidden.device
        scan = scanner(cast.outside_worker)
        scan(LocationFactory())

        reply = scan(device)

        assert reply["level"] == "error"
        assert "device" not in reply["pending"]
        device.refresh_from_db()
        assert device.history.count() == 1

    def test_an_insider_scans_and_moves_it(self, cast):
        device, shelf = cast.hidden.device, LocationFactory()
        scan = scanner(cast.inside_worker)

        assert scan(device)["level"] == "info"
        assert scan(shelf)["level"] == "ready"
        assert scan(cast.inside_worker)["level"] == "moved"
        device.refresh_from_db()
        assert (device.location, device.holder) == (shelf, cast.inside_worker)


# --- 9. spreadsheet import --------------------------------------------------------------------
def device_rows(*rows: dict) -> tablib.Dataset:
    headers = list(rows[0])
    return tablib.Dataset(*[[row[h] for h in headers] for row in rows], headers=headers)


class ImportTests:
    def test_a_row_about_a_hidden_device_is_refused_for_an_outsider_and_nothing_changes(self, cast):
        device = cast.hidden.device
        before = (device.hardware_version, device.history.count())
        rows = device_rows({"Serial number": device.serial_number, "Hardware version": "DVT1"})

        result = DeviceResource().import_data(rows, dry_run=False, user=cast.outside_lead)

        assert result.has_validation_errors()
        [invalid] = result.invalid_rows
        assert "confidential project" in " ".join(invalid.error.messages)
        device.refresh_from_db()
        assert (device.hardware_version, device.history.count()) == before

    def test_an_outsider_cannot_register_a_device_into_the_hidden_project(self, cast):
        rows = device_rows({"Serial number": "SN-NEW-1", "Project": "falcon"})

        result = DeviceResource().import_data(rows, dry_run=False, user=cast.outside_lead)

        assert result.has_validation_errors()
        assert not Device.objects.filter(serial_number="SN-NEW-1").exists()

    def test_an_insider_imports_the_same_row(self, cast):
        device = cast.hidden.device
        rows = device_rows({"Serial number": device.serial_number, "Hardware version": "DVT1"})

        result = DeviceResource().import_data(rows, dry_run=False, user=cast.inside_lead)

        assert not result.has_errors() and not result.has_validation_errors()
        device.refresh_from_db()
        assert device.hardware_version == "DVT1"

    def test_a_row_naming_only_a_hidden_serial_shows_nothing_of_the_device(self, cast):
        device = cast.hidden.device
        rows = device_rows({"Serial number": device.serial_number, "Hardware version": ""})

        result = DeviceResource().import_data(rows, dry_run=True, user=cast.outside_lead)

        [row] = result.rows
        preview = " ".join(row.diff or [])
        assert device.location.code not in preview and "SECRET_ITEM" not in preview
        assert row.import_type == "invalid"


# --- 10. chat ---------------------------------------------------------------------------------
class ChatTests:
    def test_an_outsider_cannot_see_the_hidden_incidents_room(self, cast):
        room = room_for(incident=cast.hidden)

        assert not can_see_room(room, cast.outside_worker)
        assert can_see_room(room, cast.inside_worker)
        assert can_see_room(room_for(incident=cast.visible), cast.outside_worker)

    def test_the_rooms_an_outsider_may_read_leave_it_out(self, cast):
        hidden_room, visible_room = room_for(incident=cast.hidden), room_for(incident=cast.visible)

        assert pks(visible_rooms(cast.outside_worker)) == {visible_room.pk}
        assert pks(visible_rooms(cast.inside_worker)) == {hidden_room.pk, visible_room.pk}


# --- 11. the audit trail ----------------------------------------------------------------------
def restriction_changes(restriction_id: int) -> list[ConfigChange]:
    return list(
        ConfigChange.objects.filter(
            kind=ConfigChangeKind.PROJECT_ACCESS, object_id=restriction_id
        ).order_by("id")
    )


class AuditTests:
    def test_creating_naming_and_deleting_a_restriction_is_each_kept(self):
        department = Department.objects.get(code=DepartmentCode.FAE)
        person = StaffFactory()

        restriction = ProjectAccess.objects.create(project=HIDDEN, note="Customer NDA")
        restriction.departments.add(department)
        restriction.people.add(person)
        restriction_id = restriction.pk
        restriction.delete()

        created, departments, people, deleted = restriction_changes(restriction_id)
        assert (created.action, created.before, created.after) == (
            ConfigChangeAction.CREATED,
            {},
            {"project": HIDDEN, "note": "Customer NDA"},
        )
        assert (departments.action, departments.before, departments.after) == (
            ConfigChangeAction.CHANGED,
            {"departments": []},
            {"departments": [DepartmentCode.FAE]},
        )
        assert (people.before, people.after) == ({"people": []}, {"people": [str(person)]})
        assert (deleted.action, deleted.before, deleted.after) == (
            ConfigChangeAction.DELETED,
            {
                "project": HIDDEN,
                "note": "Customer NDA",
                "departments": [DepartmentCode.FAE],
                "people": [str(person)],
            },
            {},
        )
        assert deleted.object_repr == HIDDEN

    def test_renaming_the_project_keeps_both_names(self):
        restriction = ProjectAccess.objects.create(project=HIDDEN)
        restriction.project = "Falcon-2"
        restriction.save()

        renamed = restriction_changes(restriction.pk)[-1]
        assert (renamed.before, renamed.after) == ({"project": HIDDEN}, {"project": "Falcon-2"})


# --- 12. Ctrl+K -------------------------------------------------------------------------------
class CommandSearchTests:
    def test_a_restriction_made_between_two_searches_hides_the_device_at_once(self):
        DeviceFactory(project=HIDDEN, serial_number="SN-CTRLK-42")
        client = Client()
        client.force_login(StaffFactory())

        def answer() -> str:
            url = reverse("admin:search") + "?s=SN-CTRLK-42&extended=1"
            response = client.get(url)
            assert response.status_code == 200
            return response.content.decode()

        assert "SN-CTRLK-42" in answer()
        restrict(HIDDEN)
        assert "SN-CTRLK-42" not in answer()


# --- 13. the restriction's admin page ---------------------------------------------------------
class AdminPageTests:
    def test_the_change_page_lists_the_stages_owned_by_departments_not_named(self, admin_client):
        fae = Department.objects.get(code=DepartmentCode.FAE)
        restriction = restrict(HIDDEN, departments=[fae])
        outside = StageOwnership.objects.exclude(department=fae).select_related("department")
        assert outside.exists() and StageOwnership.objects.filter(department=fae).exists()

        response = admin_client.get(
            reverse("admin:incidents_projectaccess_change", args=[restriction.pk])
        )

        page = response.content.decode()
        assert response.status_code == 200
        assert "see none of the project&#x27;s incidents" in page
        for ownership in outside:
            assert f"{ownership.get_stage_display()} — {ownership.department.localized_name}" in (
                page
            )
        for ownership in StageOwnership.objects.filter(department=fae):
            assert f"{ownership.get_stage_display()} — " not in page

    def test_a_project_differing_only_in_case_is_refused_on_the_add_form(self, admin_client):
        restrict(HIDDEN)

        response = admin_client.post(
            reverse("admin:incidents_projectaccess_add"),
            {"project": HIDDEN.lower(), "note": "Again", "_save": "Save"},
        )

        assert response.status_code == 200
        assert response.context["adminform"].form.errors
        assert "This project is already restricted." in response.content.decode()
        assert ProjectAccess.objects.count() == 1
