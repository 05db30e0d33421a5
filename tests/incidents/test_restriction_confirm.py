"""Saving a project restriction that takes open incidents out of the sight of the people working
them (their assignees, the supervisors of the departments owning their stages) first shows who
loses what and asks for confirmation; nothing changes until it is confirmed. Confirming saves
it, hands each incident whose assignee lost sight back to its department's queue (on its
timeline) and tells everyone who lost sight. A restriction that takes nothing away saves at
once, and nobody without the permission gets there by posting."""

from urllib.parse import urlencode

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import translation

from incidents import access
from incidents.choices import DepartmentCode, EventNote, Stage, Step, WorkflowAction
from incidents.models import Department, Employee, Incident, Notification, ProjectAccess
from incidents.services import WorkflowError, incident_assign, incident_open
from incidents.services.restrictions import (
    RestrictionUnconfirmed,
    project_access_impact,
    project_access_save,
)
from tests.factories import DeviceFactory
from tests.incidents.test_workflow import build_team

pytestmark = pytest.mark.django_db

PROJECT = "Falcon"
ADD_URL = "admin:incidents_projectaccess_add"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text_of(response) -> str:
    """The page's text as read: runs of white space are one space."""
    return " ".join(response.content.decode().split())


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def department(code: str) -> Department:
    return Department.objects.get(code=code)


def opened(team, stage: Stage, project: str = PROJECT) -> Incident:
    return incident_open(device=DeviceFactory(project=project), reporter=team.reporter, stage=stage)


class Scene:
    """Open Falcon incidents: one in FAE retest assigned to the FAE worker, one there assigned
    to their colleague, one waiting in the X-ray queue; one Osprey incident assigned to the FAE
    worker. The restriction names production and the colleague."""

    def __init__(self):
        self.team = team = build_team()
        self.worker = team.worker(Stage.FAE_RETEST)
        self.colleague = team.fae_colleague
        self.fae_lead = team.supervisor(Stage.FAE_RETEST)
        self.xray_lead = team.supervisor(Stage.XRAY)
        self.admin = team.admin
        self.mine = incident_assign(
            incident=opened(team, Stage.FAE_RETEST), assignee=self.worker, by=self.fae_lead
        )
        self.colleagues = incident_assign(
            incident=opened(team, Stage.FAE_RETEST), assignee=self.colleague, by=self.fae_lead
        )
        self.queued = opened(team, Stage.XRAY)
        self.elsewhere = incident_assign(
            incident=opened(team, Stage.FAE_RETEST, project="Osprey"),
            assignee=self.worker,
            by=self.fae_lead,
        )
        self.production = department(DepartmentCode.PRODUCTION)

    def form(self, **extra) -> dict:
        return {
            "project": PROJECT,
            "departments": [self.production.pk],
            "people": [self.colleague.pk],
            "note": "Customer contract",
            "_save": "Save",
            **extra,
        }


@pytest.fixture
def scene(db) -> Scene:
    return Scene()


def post_add(client: Client, data: dict):
    return client.post(reverse(ADD_URL), data)


def unchanged(scene: Scene) -> bool:
    """Nothing of the restriction happened: not saved, nobody handed back or told."""
    for incident in (scene.mine, scene.colleagues, scene.queued):
        incident.refresh_from_db()
    return (
        not ProjectAccess.objects.exists()
        and (scene.mine.step, scene.mine.assignee) == (Step.ASSIGNED, scene.worker)
        and not Notification.objects.filter(
            action__in=[WorkflowAction.RESTRICT, WorkflowAction.UNASSIGN]
        ).exists()
        and not scene.mine.events.filter(action=WorkflowAction.UNASSIGN).exists()
    )


class ImpactTests:
    def test_it_names_the_assignees_and_stage_owners_who_would_lose_sight(self, scene):
        impact = project_access_impact(
            project=PROJECT, departments=[scene.production], people=[scene.colleague]
        )

        losses = {loss.person: loss for loss in impact.losses}
        assert impact.open_count == 3
        assert [i.pk for i in impact.incidents] == sorted(
            [scene.mine.pk, scene.colleagues.pk, scene.queued.pk]
        )
        assert set(losses) == {scene.worker, scene.fae_lead, scene.xray_lead}
        assert [i.pk for i in losses[scene.worker].assigned] == [scene.mine.pk]
        assert losses[scene.worker].owned == []
        assert [i.pk for i in losses[scene.fae_lead].owned] == sorted(
            [scene.mine.pk, scene.colleagues.pk]
        )
        assert [i.pk for i in losses[scene.xray_lead].owned] == [scene.queued.pk]
        assert [i.pk for i in impact.handed_back] == [scene.mine.pk]

    def test_someone_who_already_does_not_see_the_project_loses_nothing(self, scene):
        restriction = ProjectAccess.objects.create(project=PROJECT.upper())
        restriction.departments.add(scene.production)
        restriction.people.add(scene.colleague, scene.fae_lead)

        impact = project_access_impact(
            project=PROJECT, departments=[scene.production], people=[scene.colleague]
        )

        # The worker and the X-ray supervisor lost it when it was first restricted.
        assert [loss.person for loss in impact.losses] == [scene.fae_lead]

    def test_an_administrator_never_loses_sight(self, scene):
        department(DepartmentCode.XRAY).supervisors.add(scene.admin)

        impact = project_access_impact(project=PROJECT, departments=[], people=[])

        assert scene.admin not in [loss.person for loss in impact.losses]


class ConfirmationPageTests:
    def test_saving_shows_the_counts_and_people_and_changes_nothing(self, scene):
        response = post_add(client_for(scene.admin), scene.form())

        assert response.status_code == 200
        assert response.templates[0].name == (
            "admin/incidents/projectaccess/restriction_confirmation.html"
        )
        page = text_of(response)
        assert "Open incidents of project Falcon: 3." in page
        assert "takes 3 of them out of the sight of people working on them" in page
        listed = {row["person"] for row in response.context["people"]}
        assert listed == {scene.worker, scene.fae_lead, scene.xray_lead}
        for person in listed:
            assert str(person) in page
        assert scene.colleague.get_full_name() not in page
        assert f"1 incident assigned to them: #{scene.mine.pk}" in page
        assert "goes back to its department's queue" in page
        assert unchanged(scene)

    def test_the_page_carries_the_form_as_posted_and_the_fingerprint(self, scene):
        response = post_add(client_for(scene.admin), scene.form())

        posted = dict(response.context["posted"])
        assert posted["project"] == PROJECT and posted["note"] == "Customer contract"
        assert ("people", str(scene.colleague.pk)) in response.context["posted"]
        fingerprint = response.context["impact"].fingerprint
        assert f'name="_restriction_confirmed" value="{fingerprint}"' in response.content.decode()

    def test_confirming_saves_hands_over_and_tells_each_person(
        self, scene, mailoutbox, django_capture_on_commit_callbacks
    ):
        client = client_for(scene.admin)
        fingerprint = post_add(client, scene.form()).context["impact"].fingerprint

        with django_capture_on_commit_callbacks(execute=True):
            response = post_add(client, scene.form(_restriction_confirmed=fingerprint))

        assert response.status_code == 302
        restriction = ProjectAccess.objects.get()
        assert set(restriction.departments.all()) == {scene.production}
        assert set(restriction.people.all()) == {scene.colleague}
        scene.mine.refresh_from_db()
        assert (scene.mine.step, scene.mine.assignee) == (Step.UNASSIGNED, None)
        event = scene.mine.events.latest("created_at", "id")
        assert (event.action, event.note, event.actor) == (
            WorkflowAction.UNASSIGN,
            EventNote.ASSIGNEE_LOST_ACCESS,
            scene.admin,
        )
        # The colleague is named: their assignment stays; the other project is untouched.
        scene.colleagues.refresh_from_db()
        scene.elsewhere.refresh_from_db()
        assert scene.colleagues.assignee == scene.colleague
        assert scene.elsewhere.assignee == scene.worker
        told = Notification.objects.filter(action=WorkflowAction.RESTRICT)
        assert {n.recipient for n in told} == {scene.worker, scene.fae_lead, scene.xray_lead}
        assert all(n.incident_id is None and n.comment == PROJECT for n in told)
        assert {m.to[0] for m in mailoutbox} >= {scene.worker.email, scene.xray_lead.email}
        assert any("restricted project Falcon" in m.subject for m in mailoutbox)
        texts = messages_of(response)
        assert any(f"went back to its department's queue: #{scene.mine.pk}" in t for t in texts)

    def test_the_worker_no_longer_sees_it_and_reads_the_notice_in_their_list(self, scene):
        client = client_for(scene.admin)
        fingerprint = post_add(client, scene.form()).context["impact"].fingerprint
        post_add(client, scene.form(_restriction_confirmed=fingerprint))

        worker = Employee.objects.get(pk=scene.worker.pk)
        assert not access.may_see_incident(scene.mine, worker)
        page = client_for(worker).get(
            reverse("admin:incidents_notification_changelist"), {"action": "restrict"}
        )
        assert "restricted project Falcon, which is no longer open to you" in (text_of(page))
        notice = Notification.objects.get(recipient=worker, action=WorkflowAction.RESTRICT)
        opened_notice = client_for(worker).get(
            reverse("admin:incidents_notification_open", args=[notice.pk])
        )
        assert opened_notice.status_code == 302
        assert opened_notice.url == reverse("admin:incidents_notification_changelist")

    def test_a_supervisor_who_keeps_sight_is_told_the_incident_is_back_in_the_queue(self, scene):
        client = client_for(scene.admin)
        data = scene.form(people=[scene.colleague.pk, scene.fae_lead.pk])
        fingerprint = post_add(client, data).context["impact"].fingerprint

        post_add(client, {**data, "_restriction_confirmed": fingerprint})

        back = Notification.objects.get(action=WorkflowAction.UNASSIGN)
        assert (back.recipient, back.incident) == (scene.fae_lead, scene.mine)
        assert "back in the queue" in back.text

    def test_a_stale_confirmation_asks_again_and_changes_nothing(self, scene):
        client = client_for(scene.admin)
        fingerprint = post_add(client, scene.form()).context["impact"].fingerprint
        # Meanwhile the X-ray queue's incident is given to the X-ray worker.
        incident_assign(
            incident=scene.queued, assignee=scene.team.worker(Stage.XRAY), by=scene.xray_lead
        )

        response = post_add(client, scene.form(_restriction_confirmed=fingerprint))

        assert response.status_code == 200
        assert response.context["changed"]
        assert "changed since the page you confirmed" in text_of(response)
        assert scene.team.worker(Stage.XRAY) in {r["person"] for r in response.context["people"]}
        assert not ProjectAccess.objects.exists()
        scene.mine.refresh_from_db()
        assert scene.mine.assignee == scene.worker

    @pytest.mark.parametrize(
        "confirmation", ["", "0" * 24, "x" * 5000, "\x00", "<script>alert(1)</script>"]
    )
    def test_a_forged_confirmation_is_only_asked_again(self, scene, confirmation):
        response = post_add(
            client_for(scene.admin), scene.form(_restriction_confirmed=confirmation)
        )

        # A NUL is refused before any form reads it.
        assert response.status_code == (400 if "\x00" in confirmation else 200)
        assert "<script>alert(1)</script>" not in response.content.decode()
        assert unchanged(scene)

    def test_a_confirmation_that_is_not_text_is_only_asked_again(self, scene):
        # A lone surrogate, as bytes no UTF-8 encoder makes.
        body = urlencode(scene.form(), doseq=True) + "&_restriction_confirmed=%ED%A0%80"

        response = client_for(scene.admin).post(
            reverse(ADD_URL), body, content_type="application/x-www-form-urlencoded"
        )

        assert response.status_code == 200
        assert unchanged(scene)

    def test_changing_a_restriction_to_drop_someone_asks_too(self, scene):
        restriction = ProjectAccess.objects.create(project=PROJECT)
        restriction.people.add(scene.colleague, scene.worker, scene.fae_lead, scene.xray_lead)
        client = client_for(scene.admin)
        url = reverse("admin:incidents_projectaccess_change", args=[restriction.pk])
        data = {
            "project": PROJECT,
            "people": [scene.colleague.pk, scene.fae_lead.pk, scene.xray_lead.pk],
            "note": "",
            "_save": "Save",
        }

        asked = client.post(url, data)
        assert asked.status_code == 200
        assert [row["person"] for row in asked.context["people"]] == [scene.worker]
        assert set(restriction.people.all()) == {
            scene.colleague,
            scene.worker,
            scene.fae_lead,
            scene.xray_lead,
        }

        done = client.post(
            url, {**data, "_restriction_confirmed": asked.context["impact"].fingerprint}
        )
        assert done.status_code == 302
        assert scene.worker not in restriction.people.all()
        scene.mine.refresh_from_db()
        assert scene.mine.step == Step.UNASSIGNED


class SavesAtOnceTests:
    def test_a_restriction_that_takes_nothing_away_saves_without_asking(self, scene):
        data = scene.form(
            people=[scene.colleague.pk, scene.worker.pk, scene.fae_lead.pk, scene.xray_lead.pk]
        )

        response = post_add(client_for(scene.admin), data)

        assert response.status_code == 302
        assert ProjectAccess.objects.filter(project=PROJECT).exists()
        scene.mine.refresh_from_db()
        assert scene.mine.assignee == scene.worker
        assert not Notification.objects.filter(action=WorkflowAction.RESTRICT).exists()

    def test_a_project_without_open_incidents_saves_at_once(self, scene):
        response = post_add(client_for(scene.admin), scene.form(project="Heron"))

        assert response.status_code == 302
        assert ProjectAccess.objects.filter(project="Heron").exists()

    def test_an_invalid_form_shows_its_errors_not_the_confirmation(self, scene):
        response = post_add(client_for(scene.admin), scene.form(project="   "))

        assert response.status_code == 200
        assert response.context["adminform"].form.errors
        assert unchanged(scene)


class ForbiddenTests:
    @pytest.mark.parametrize("who", ["worker", "fae_lead"])
    def test_someone_without_the_permission_cannot_save_it_by_posting(self, scene, who):
        client = client_for(getattr(scene, who))
        fingerprint = project_access_impact(
            project=PROJECT, departments=[scene.production], people=[scene.colleague]
        ).fingerprint

        asked = post_add(client, scene.form())
        confirmed = post_add(client, scene.form(_restriction_confirmed=fingerprint))

        assert asked.status_code == 403 and confirmed.status_code == 403
        assert unchanged(scene)

    def test_the_service_refuses_them_too(self, scene):
        with pytest.raises(WorkflowError, match="may not restrict projects"):
            project_access_save(
                restriction=ProjectAccess(project=PROJECT),
                departments=[scene.production],
                people=[],
                by=scene.fae_lead,
            )
        assert unchanged(scene)

    def test_the_service_refuses_an_unconfirmed_loss(self, scene):
        with pytest.raises(RestrictionUnconfirmed, match="Restricting Falcon takes") as refused:
            project_access_save(
                restriction=ProjectAccess(project=PROJECT),
                departments=[scene.production],
                people=[scene.colleague],
                by=scene.admin,
            )
        assert {loss.person for loss in refused.value.impact.losses} == {
            scene.worker,
            scene.fae_lead,
            scene.xray_lead,
        }
        assert unchanged(scene)


class ChineseTests:
    def test_the_confirmation_page_reads_in_chinese(self, scene):
        admin = scene.admin
        admin.language = "zh-hans"
        admin.save(update_fields=["language"])
        client = client_for(admin)

        with translation.override("zh-hans"):
            response = client.post(
                reverse(ADD_URL), scene.form(), headers={"accept-language": "zh-hans"}
            )

        page = response.content.decode()
        assert response.status_code == 200
        assert "是，限制该专案" in page
        assert "Yes, restrict the project" not in page
