"""The workflow through the admin: the buttons on the incident page, the row actions, the bulk
actions on the changelist and crafted POSTs. What is shown is what is allowed; whatever path a
forbidden action takes, it is refused with a message and nothing changes."""

import io

import pytest
from django.contrib.admin import SimpleListFilter
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from config.kit.lists import ROW_PK_PLACEHOLDER
from config.kit.uploads import PREVIEW_LONG_SIDE
from incidents import services
from incidents.admin.incidents import MyWorkFilter, UnreadMessagesFilter
from incidents.choices import Stage, Step, Verdict
from incidents.models import Attachment, Incident, Notification
from locations.models import Device
from tests.factories import DeviceFactory, EmployeeFactory
from tests.incidents.test_workflow import assigned, build_team, open_incident, submitted

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def change_url(incident) -> str:
    return reverse("admin:incidents_incident_change", args=[incident.pk])


def action_url(incident, name: str) -> str:
    return reverse(f"admin:incidents_incident_{name}_action", args=[incident.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def expected(incident) -> dict:
    return {"expected_stage": incident.stage, "expected_step": incident.step}


@pytest.fixture
def team(db):
    return build_team()


class DetailButtonTests:
    def test_stage_supervisor_sees_assign_and_cancel_only(self, team):
        incident = open_incident(team, Stage.FAE_RETEST)

        page = client_for(team.supervisor(Stage.FAE_RETEST)).get(change_url(incident))

        buttons = {action["path"] for action in page.context["actions_detail"]}
        assert buttons == {action_url(incident, "assign"), action_url(incident, "cancel")}

    def test_staff_of_another_department_sees_no_workflow_button(self, team):
        incident = open_incident(team, Stage.FAE_RETEST)

        page = client_for(team.worker(Stage.XRAY)).get(change_url(incident))

        assert page.status_code == 200
        assert page.context["actions_detail"] == []

    def test_assignee_sees_submit_only_once_a_record_and_a_verdict_exist(self, team):
        incident = assigned(team, Stage.FAE_RETEST)
        worker = client_for(team.worker(Stage.FAE_RETEST))

        def buttons():
            return {a["path"] for a in worker.get(change_url(incident)).context["actions_detail"]}

        before = buttons()
        worker.post(
            action_url(incident, "record"), {**expected(incident), "action": "Retest on station 3"}
        )
        with_record = buttons()
        worker.post(
            action_url(incident, "result"),
            {**expected(incident), "findings": "Fails on station 3", "verdict": "fail"},
        )
        with_verdict = buttons()

        assert action_url(incident, "submit") not in before
        assert action_url(incident, "record") in before
        assert action_url(incident, "submit") not in with_record
        assert action_url(incident, "submit") in with_verdict

    def test_reviewer_sees_approve_with_the_next_stage_named(self, team):
        incident = submitted(team, Stage.FAE_RETEST, Verdict.FAIL)

        page = client_for(team.supervisor(Stage.FAE_RETEST)).get(action_url(incident, "approve"))

        assert page.status_code == 200
        assert "X-ray inspection" in page.content.decode()


class DetailActionTests:
    def test_supervisor_assigns_through_the_button_form(self, team):
        incident = open_incident(team, Stage.FAE_RETEST)
        supervisor = client_for(team.supervisor(Stage.FAE_RETEST))

        response = supervisor.post(
            action_url(incident, "assign"),
            {**expected(incident), "assignee": team.worker(Stage.FAE_RETEST).pk, "comment": "Go"},
        )

        incident.refresh_from_db()
        assert response.status_code == 302
        assert (incident.step, incident.assignee) == (Step.ASSIGNED, team.worker(Stage.FAE_RETEST))

    def test_crafted_post_by_another_departments_supervisor_is_refused_with_a_message(self, team):
        incident = open_incident(team, Stage.FAE_RETEST)
        outsider = client_for(team.supervisor(Stage.XRAY))

        response = outsider.post(
            action_url(incident, "assign"),
            {**expected(incident), "assignee": team.worker(Stage.XRAY).pk},
        )

        incident.refresh_from_db()
        assert response.status_code == 302
        assert incident.step == Step.UNASSIGNED and incident.assignee is None
        assert any("Only a supervisor of FAE" in m for m in messages_of(response))

    def test_assignee_outside_the_department_is_not_even_offered(self, team):
        incident = open_incident(team, Stage.FAE_RETEST)

        response = client_for(team.supervisor(Stage.FAE_RETEST)).post(
            action_url(incident, "assign"),
            {**expected(incident), "assignee": team.worker(Stage.XRAY).pk},
        )

        incident.refresh_from_db()
        assert response.status_code == 200
        assert "Select a valid choice" in response.content.decode()
        assert incident.assignee is None

    def test_acting_on_a_state_changed_meanwhile_says_so_and_changes_nothing(self, team):
        incident = submitted(team, Stage.FAE_RETEST, Verdict.FAIL)
        supervisor = team.supervisor(Stage.FAE_RETEST)
        form = expected(incident)
        client_for(supervisor).post(action_url(incident, "approve"), form)

        late = client_for(supervisor).post(action_url(incident, "reject"), {**form, "reason": "x"})

        incident.refresh_from_db()
        assert incident.stage == Stage.XRAY and incident.step == Step.UNASSIGNED
        assert any("is not waiting for review" in m or "changed" in m for m in messages_of(late))

    def test_reject_needs_a_reason(self, team):
        incident = submitted(team)

        response = client_for(team.supervisor(Stage.FAE_RETEST)).post(
            action_url(incident, "reject"), {**expected(incident), "reason": ""}
        )

        incident.refresh_from_db()
        assert response.status_code == 200
        assert incident.step == Step.SUBMITTED

    def test_anonymous_post_goes_to_the_login(self, team, client):
        incident = open_incident(team, Stage.FAE_RETEST)

        response = client.post(
            action_url(incident, "cancel"), {**expected(incident), "reason": "x"}
        )

        incident.refresh_from_db()
        assert response.status_code == 302 and "/login/" in response["Location"]
        assert incident.is_open


class AttachmentTests:
    def test_assignee_uploads_and_readers_download_by_unguessable_link(self, team):
        incident = assigned(team, Stage.XRAY)
        worker = client_for(team.worker(Stage.XRAY))

        worker.post(
            action_url(incident, "record"),
            {
                **expected(incident),
                "action": "X-ray scan",
                "files": [
                    SimpleUploadedFile("scan.png", b"\x89PNG\r\n\x1a\nfake", "image/png"),
                    SimpleUploadedFile("run.log", b"FAIL BT_RSSI\n", "text/plain"),
                ],
            },
        )

        attachments = Attachment.objects.filter(record__incident=incident)
        assert sorted(a.original_name for a in attachments) == ["run.log", "scan.png"]
        log = attachments.get(original_name="run.log")
        url = reverse("admin:incidents_attachment_download", args=[log.pk])
        reader = client_for(team.worker(Stage.EE_ANALYSIS))
        download = reader.get(url)
        assert download.status_code == 200
        assert b"".join(download.streaming_content) == b"FAIL BT_RSSI\n"
        assert "attachment" in download["Content-Disposition"]
        assert str(log.pk) in url

    def test_a_photo_is_served_as_its_preview_on_asking_and_anything_else_as_itself(self, team):
        incident = assigned(team, Stage.XRAY)
        photo = io.BytesIO()
        Image.new("RGB", (2400, 1600), "navy").save(photo, format="PNG")
        client_for(team.worker(Stage.XRAY)).post(
            action_url(incident, "record"),
            {
                **expected(incident),
                "action": "X-ray scan",
                "files": [
                    SimpleUploadedFile("view.png", photo.getvalue(), "image/png"),
                    SimpleUploadedFile("run.log", b"FAIL\n", "text/plain"),
                ],
            },
        )
        picture = Attachment.objects.get(original_name="view.png")
        log = Attachment.objects.get(original_name="run.log")
        reader = client_for(team.worker(Stage.EE_ANALYSIS))

        def url(attachment, query=""):
            return reverse("admin:incidents_attachment_download", args=[attachment.pk]) + query

        preview = reader.get(url(picture, "?preview=1"))
        assert preview.status_code == 200 and preview["Content-Type"] == "image/png"
        with Image.open(io.BytesIO(b"".join(preview.streaming_content))) as shown:
            assert max(shown.size) == PREVIEW_LONG_SIDE
        # Anything but "1", or a file that is no picture: the file itself.
        for query in ("?preview=0", "?preview=" + "9" * 5000, "?preview=1&preview=x"):
            assert reader.get(url(picture, query)).status_code == 200, query
        assert reader.get(url(picture, "?preview=%00")).status_code == 400
        assert b"".join(reader.get(url(log, "?preview=1")).streaming_content) == b"FAIL\n"
        # A picture whose preview is missing (or whose file was lost) is not found, never a 500.
        Attachment.objects.filter(pk=picture.pk).update(preview="")
        assert reader.get(url(picture, "?preview=1")).status_code == 404
        Attachment.objects.filter(pk=log.pk).update(file="attachments/gone.log")
        assert reader.get(url(log)).status_code == 404

    def test_people_without_access_cannot_download(self, team, client):
        incident = assigned(team, Stage.XRAY)
        client_for(team.worker(Stage.XRAY)).post(
            action_url(incident, "record"),
            {
                **expected(incident),
                "action": "X-ray scan",
                "files": SimpleUploadedFile("run.log", b"x"),
            },
        )
        url = reverse(
            "admin:incidents_attachment_download",
            args=[Attachment.objects.get(record__incident=incident).pk],
        )

        assert client.get(url).status_code == 302
        assert client_for(EmployeeFactory()).get(url).status_code == 403

    def test_forbidden_file_type_is_refused_on_the_form(self, team):
        incident = assigned(team, Stage.XRAY)

        response = client_for(team.worker(Stage.XRAY)).post(
            action_url(incident, "record"),
            {
                **expected(incident),
                "action": "X-ray scan",
                "files": SimpleUploadedFile("evil.html", b"<script>"),
            },
        )

        assert response.status_code == 200
        assert "cannot be attached" in response.content.decode()
        assert not incident.operation_records.exists()


class RowActionTests:
    def test_supervisors_get_row_actions_that_lead_to_the_same_guarded_forms(self, team):
        incident = open_incident(team, Stage.FAE_RETEST)
        supervisor = client_for(team.supervisor(Stage.FAE_RETEST))

        page = supervisor.get(reverse("admin:incidents_incident_changelist"))

        # One menu for the page, its links filled in with the row's id when it opens.
        html = page.content.decode()
        assert page.context["actions_row"]
        assert f'data-row-actions="{incident.pk}"' in html
        assert reverse("admin:incidents_incident_assign_action", args=[ROW_PK_PLACEHOLDER]) in html

    def test_staff_get_no_row_actions(self, team):
        open_incident(team, Stage.FAE_RETEST)

        page = client_for(team.worker(Stage.FAE_RETEST)).get(
            reverse("admin:incidents_incident_changelist")
        )

        assert page.context["actions_row"] == []


class BulkActionTests:
    def post(self, client, action: str, incidents, **data):
        return client.post(
            reverse("admin:incidents_incident_changelist"),
            {"action": action, "_selected_action": [i.pk for i in incidents], **data},
            follow=True,
        )

    def test_bulk_assign_reports_each_incident_done_or_refused(self, team):
        mine = [open_incident(team, Stage.FAE_RETEST) for _ in range(2)]
        other = open_incident(team, Stage.XRAY)
        supervisor = client_for(team.supervisor(Stage.FAE_RETEST))

        form = self.post(supervisor, "bulk_assign", [*mine, other])
        assert form.templates[0].name == "admin/incidents/incident/bulk_form.html"
        response = self.post(
            supervisor,
            "bulk_assign",
            [*mine, other],
            apply="1",
            assignee=team.worker(Stage.FAE_RETEST).pk,
        )

        texts = messages_of(response)
        assert any(f"Assigned 2: #{mine[0].pk}, #{mine[1].pk}" in t for t in texts)
        assert any(f"#{other.pk}: Only a supervisor of X-ray lab" in t for t in texts)
        assert Incident.objects.filter(step=Step.ASSIGNED).count() == 2
        other.refresh_from_db()
        assert other.step == Step.UNASSIGNED

    def test_bulk_approve_moves_each_by_its_own_verdict(self, team):
        to_xray = submitted(team, Stage.FAE_RETEST, Verdict.FAIL)
        to_line = submitted(team, Stage.FAE_RETEST, Verdict.PASS)
        in_progress = assigned(team, Stage.FAE_RETEST)

        response = self.post(
            client_for(team.supervisor(Stage.FAE_RETEST)),
            "bulk_approve",
            [to_xray, to_line, in_progress],
        )

        for incident in (to_xray, to_line, in_progress):
            incident.refresh_from_db()
        assert (to_xray.stage, to_line.stage) == (Stage.XRAY, Stage.RETURNED)
        assert in_progress.stage == Stage.FAE_RETEST
        assert (
            f"Not approved #{in_progress.pk}: Incident #{in_progress.pk} is not waiting for "
            "review (it is In progress)."
        ) in messages_of(response)

    def test_bulk_reject_and_cancel_ask_for_a_reason(self, team):
        incident = submitted(team)
        supervisor = client_for(team.supervisor(Stage.FAE_RETEST))

        self.post(supervisor, "bulk_reject", [incident], apply="1", reason="")
        incident.refresh_from_db()
        assert incident.step == Step.SUBMITTED
        self.post(supervisor, "bulk_reject", [incident], apply="1", reason="Add the log")
        incident.refresh_from_db()
        assert incident.step == Step.ASSIGNED and incident.stage_round == 2

        self.post(supervisor, "bulk_cancel", [incident], apply="1", reason="Duplicate")
        incident.refresh_from_db()
        assert incident.stage == Stage.CANCELLED

    def test_staff_posting_a_bulk_action_they_are_not_offered_changes_nothing(self, team):
        incident = submitted(team)

        response = self.post(client_for(team.worker(Stage.FAE_RETEST)), "bulk_approve", [incident])

        incident.refresh_from_db()
        assert incident.step == Step.SUBMITTED
        assert response.status_code == 200
        assert not incident.events.filter(action="approve").exists()

    def test_bulk_problem_group_joins_and_leaves(self, team):
        from tests.factories import ProblemGroupFactory

        group = ProblemGroupFactory()
        incidents = [open_incident(team), open_incident(team)]
        supervisor = client_for(team.supervisor(Stage.REPORTED))

        self.post(supervisor, "bulk_problem_group", incidents, apply="1", problem_group=group.pk)
        assert group.incidents.count() == 2
        self.post(supervisor, "bulk_problem_group", incidents, apply="1", problem_group="")
        assert group.incidents.count() == 0


class WorkQueueTests:
    def test_queues_count_what_each_person_has_to_do(self, team):
        assigned(team, Stage.FAE_RETEST)
        submitted(team, Stage.FAE_RETEST)
        open_incident(team, Stage.FAE_RETEST)
        changelist = reverse("admin:incidents_incident_changelist")

        worker = client_for(team.worker(Stage.FAE_RETEST))
        supervisor = client_for(team.supervisor(Stage.FAE_RETEST))

        assert worker.get(changelist, {"work": "mine"}).context["cl"].result_count == 1
        assert supervisor.get(changelist, {"work": "review"}).context["cl"].result_count == 1
        assert supervisor.get(changelist, {"work": "unassigned"}).context["cl"].result_count == 1
        assert worker.get(changelist, {"work": "review"}).context["cl"].result_count == 0

    def test_stage_age_column_sorts(self, team):
        open_incident(team, Stage.FAE_RETEST)

        page = client_for(team.admin).get(
            reverse("admin:incidents_incident_changelist"), {"o": "5"}
        )

        assert page.status_code == 200


class NotificationAdminTests:
    def test_each_person_sees_only_their_own_notifications(self, team):
        incident = assigned(team, Stage.FAE_RETEST)
        url = reverse("admin:incidents_notification_changelist")

        mine = client_for(team.worker(Stage.FAE_RETEST)).get(url)
        theirs = client_for(team.worker(Stage.XRAY)).get(url)

        assert mine.context["cl"].result_count == 1
        assert f"#{incident.pk}" in mine.content.decode()
        assert theirs.context["cl"].result_count == 0

    def test_mark_as_read(self, team):
        assigned(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)

        client_for(worker).post(
            reverse("admin:incidents_notification_changelist"),
            {
                "action": "mark_read",
                "_selected_action": list(worker.notifications.values_list("pk", flat=True)),
            },
        )

        assert not Notification.objects.filter(recipient=worker, read_at__isnull=True).exists()


class OpenIncidentAdminTests:
    def add(self, client, **data):
        return client.post(
            reverse("admin:incidents_incident_add"),
            {"opened_at_0": "2026-11-20", "opened_at_1": "10:00:00", **data},
        )

    def test_opening_with_a_new_serial_number_registers_the_device(self, team):
        response = self.add(
            client_for(team.worker(Stage.REPORTED)),
            serial_number="NEW-SN-001",
            project="Falcon",
            fail_item="BT_RSSI",
            reporter=team.worker(Stage.REPORTED).pk,
        )

        assert response.status_code == 302, response.content.decode()[:3000]
        device = Device.objects.get(serial_number="NEW-SN-001")
        assert device.incidents.get().stage == Stage.REPORTED

    def test_registering_an_existing_serial_number_again_is_refused(self, team):
        DeviceFactory(serial_number="SN-TWICE")

        response = self.add(client_for(team.worker(Stage.REPORTED)), serial_number=" SN-TWICE ")

        assert response.status_code == 200
        assert "already registered" in response.content.decode()
        assert Device.objects.filter(serial_number="SN-TWICE").count() == 1
        assert not Incident.objects.exists()


class BlockedReviewTests:
    def test_the_page_says_why_a_supervisor_cannot_approve_their_own_work(self, team):
        both = team.supervisor(Stage.FAE_RETEST)
        incident = assigned(team, Stage.FAE_RETEST)
        services.incident_assign(incident=incident, assignee=both, by=both)
        services.operation_record_add(incident=incident, by=both, action="Retest")
        services.analysis_result_add(incident=incident, by=both, findings="x", verdict="fail")
        services.incident_submit(incident=incident, by=both)

        page = client_for(both).get(change_url(incident))

        buttons = {a["path"] for a in page.context["actions_detail"]}
        assert action_url(incident, "approve") not in buttons
        assert action_url(incident, "reject") in buttons
        html = page.content.decode()
        assert 'data-testid="blocked-approve"' in html
        assert "you cannot approve it yourself" in html


class LiveWorkflowFormTests:
    """An open form page asks for itself again when the incident changes (live_page.js): the
    answer says why its action is no longer possible instead of leading away; a person simply
    opening the page is still sent back to the incident with the reason."""

    def test_a_refresh_after_someone_else_sent_it_back_says_approve_is_not_possible(self, team):
        incident = submitted(team, Stage.FAE_RETEST, Verdict.FAIL)
        supervisor = team.supervisor(Stage.FAE_RETEST)
        services.incident_reject(incident=incident, by=supervisor, reason="Retest again")

        client = client_for(supervisor)
        refreshed = client.get(action_url(incident, "approve"), headers={"X-Live-Refresh": "1"})
        opened = client.get(action_url(incident, "approve"))

        assert refreshed.status_code == 200
        html = refreshed.content.decode()
        assert 'data-testid="workflow-refused"' in html
        assert "is not waiting for review" in html
        assert 'name="_workflow"' not in html
        assert messages_of(refreshed) == []
        assert opened.status_code == 302 and opened["Location"] == change_url(incident)

    def test_a_refresh_while_the_action_is_still_possible_offers_the_button(self, team):
        incident = submitted(team, Stage.FAE_RETEST, Verdict.FAIL)

        page = client_for(team.supervisor(Stage.FAE_RETEST)).get(
            action_url(incident, "approve"), headers={"X-Live-Refresh": "1"}
        )

        html = page.content.decode()
        assert 'name="_workflow"' in html and 'data-testid="workflow-refused"' not in html
        assert f'data-live-socket="/ws/rooms/incident/{incident.pk}/"' in html

    def test_a_refresh_posted_is_refused_as_any_post(self, team):
        incident = submitted(team, Stage.FAE_RETEST, Verdict.FAIL)
        supervisor = team.supervisor(Stage.FAE_RETEST)
        services.incident_reject(incident=incident, by=supervisor, reason="Retest again")

        response = client_for(supervisor).post(
            action_url(incident, "approve"), expected(incident), headers={"X-Live-Refresh": "1"}
        )

        incident.refresh_from_db()
        assert response.status_code == 302 and incident.step == Step.ASSIGNED


class IncidentPageLayoutTests:
    def test_the_page_offers_no_save_and_add_another_and_no_copy_of_the_summary(self, team):
        incident = submitted(team, Stage.FAE_RETEST, Verdict.FAIL)

        page = client_for(team.supervisor(Stage.FAE_RETEST)).get(change_url(incident))

        html = page.content.decode()
        assert 'name="_save"' in html and 'name="_addanother"' not in html
        fields = {
            name
            for _title, options in page.context["adminform"].fieldsets
            for name in options["fields"]
        }
        assert fields == {
            "fail_station",
            "fail_item",
            "test_log_url",
            "failed_at",
            "problem_group",
            "description",
        }
        assert 'data-testid="summary-reported"' in html
        assert 'data-testid="records"' in html and 'data-testid="timeline"' in html

    def test_a_past_version_still_shows_everything_it_held(self, team):
        incident = submitted(team, Stage.FAE_RETEST, Verdict.FAIL)
        version = incident.history.order_by("history_id").first()

        page = client_for(team.supervisor(Stage.FAE_RETEST)).get(
            reverse(
                "admin:incidents_incident_simple_history",
                args=[incident.pk, version.history_id],
            )
        )

        fields = {
            name
            for _title, options in page.context["adminform"].fieldsets
            for name in options["fields"]
        }
        assert {"device", "current_stage", "current_step", "stage_since"} <= fields


class BadIdTests:
    @pytest.mark.parametrize(
        "url",
        [
            "/admin/incidents/incident/abc/assign/",
            "/admin/incidents/incident/abc/change/",
            "/admin/incidents/incident/99999999999999999999999/approve/",
            "/admin/incidents/incident/-1/record/",
            "/admin/locations/device/abc/label-png/",
            "/admin/incidents/employee/abc/label-svg/",
        ],
    )
    def test_an_id_that_is_not_a_key_is_not_found(self, admin_client, url):
        assert admin_client.get(url).status_code in (302, 404)
        assert admin_client.post(url).status_code in (302, 404)


class ShowCountsTests:
    def test_each_queue_is_counted_among_the_other_filters_rows_as_django_counts_it(self, team):
        submitted(team, Stage.FAE_RETEST)
        submitted(team, Stage.XRAY)
        open_incident(team, Stage.FAE_RETEST)
        supervisor = team.supervisor(Stage.FAE_RETEST)
        listed = client_for(supervisor).get(
            reverse("admin:incidents_incident_changelist"),
            {"_facets": "True", "stage__exact": Stage.FAE_RETEST},
        )
        changelist = listed.context["cl"]
        ours = {}
        for spec in changelist.filter_specs:
            if not isinstance(spec, (MyWorkFilter, UnreadMessagesFilter)):
                continue
            rows = changelist.get_queryset(
                listed.wsgi_request, exclude_parameters=spec.expected_parameters()
            )
            djangos = rows.aggregate(
                **SimpleListFilter.get_facet_counts(spec, changelist.pk_attname, rows)
            )
            ours[spec.parameter_name] = spec.get_facet_queryset(changelist)
            assert ours[spec.parameter_name] == djangos

        # Waiting for this supervisor's review among FAE retest's rows: the one submitted there.
        assert ours["work"]["1__c"] == 1
