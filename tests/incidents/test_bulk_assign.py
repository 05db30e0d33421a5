"""Assigning many incidents to one person from the changelist offers, as the single assign form
does, only people who may take the incidents' stages (a member or supervisor of the department
owning the stage, whose roles let them do the work, who sees the project), each with their open
workload; whoever is posted anyway is refused by the service incident by incident."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from incidents.choices import Stage, Step
from incidents.forms import BulkAssignForm
from incidents.models import Incident, ProjectAccess
from incidents.services import incident_assign, incident_open
from tests.factories import DeviceFactory, EmployeeFactory, StaffFactory
from tests.incidents.test_workflow import Team, build_team

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:incidents_incident_changelist"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def opened(team: Team, stage: Stage = Stage.FAE_RETEST, project: str = "Osprey") -> Incident:
    return incident_open(device=DeviceFactory(project=project), reporter=team.reporter, stage=stage)


def bulk_assign(client: Client, incidents, **data):
    return client.post(
        reverse(CHANGELIST),
        {"action": "bulk_assign", "_selected_action": [i.pk for i in incidents], **data},
        follow=True,
    )


def offered(response) -> dict[int, str]:
    """The people the form offers, by id, with the label each is offered with."""
    field = response.context["form"]["assignee"].field
    return {int(str(value)): str(label) for value, label in field.widget.choices if str(value)}


@pytest.fixture
def team(db) -> Team:
    return build_team()


class OfferedTests:
    def test_only_people_who_may_take_the_stage_are_offered(self, team):
        fae = team.worker(Stage.FAE_RETEST).department
        no_work_role = EmployeeFactory(department=fae)  # no role: may not do the work
        inactive = StaffFactory(department=fae, is_active=False)
        incidents = [opened(team), opened(team)]

        response = bulk_assign(client_for(team.supervisor(Stage.FAE_RETEST)), incidents)

        people = offered(response)
        assert response.status_code == 200
        assert set(people) == {
            team.worker(Stage.FAE_RETEST).pk,
            team.fae_colleague.pk,
            team.supervisor(Stage.FAE_RETEST).pk,
        }
        for outsider in (team.worker(Stage.XRAY), team.supervisor(Stage.XRAY), team.reporter):
            assert outsider.pk not in people
        assert no_work_role.pk not in people and inactive.pk not in people

    def test_people_who_may_not_see_the_project_are_not_offered(self, team):
        restriction = ProjectAccess.objects.create(project="Falcon")
        restriction.people.add(team.fae_colleague, team.supervisor(Stage.FAE_RETEST))
        hidden = [opened(team, project="Falcon"), opened(team, project="FALCON")]

        response = bulk_assign(client_for(team.supervisor(Stage.FAE_RETEST)), hidden)

        assert set(offered(response)) == {
            team.fae_colleague.pk,
            team.supervisor(Stage.FAE_RETEST).pk,
        }

    def test_each_is_offered_with_their_open_workload(self, team):
        worker = team.worker(Stage.FAE_RETEST)
        for _ in range(2):
            incident_assign(
                incident=opened(team), assignee=worker, by=team.supervisor(Stage.FAE_RETEST)
            )

        response = bulk_assign(client_for(team.supervisor(Stage.FAE_RETEST)), [opened(team)])

        people = offered(response)
        assert people[worker.pk] == f"{worker} · 2 open incidents"
        assert people[team.fae_colleague.pk] == f"{team.fae_colleague} · 0 open incidents"
        page = " ".join(response.content.decode().split())
        assert f"{worker} · 2 open incidents" in page

    def test_someone_who_may_take_only_some_says_how_many(self, team):
        fae = [opened(team), opened(team)]
        xray = opened(team, Stage.XRAY)

        response = bulk_assign(client_for(team.supervisor(Stage.FAE_RETEST)), [*fae, xray])

        people = offered(response)
        xray_worker, fae_worker = team.worker(Stage.XRAY), team.worker(Stage.FAE_RETEST)
        assert people[xray_worker.pk] == (
            f"{xray_worker} · 0 open incidents · may take 1 of the 3 selected"
        )
        assert people[fae_worker.pk] == (
            f"{fae_worker} · 0 open incidents · may take 2 of the 3 selected"
        )

    def test_a_selection_nobody_may_take_says_so(self, team):
        closed = opened(team, Stage.RETURNED)

        response = bulk_assign(client_for(team.supervisor(Stage.FAE_RETEST)), [closed])

        assert offered(response) == {}
        assert "Nobody may take them" in response.content.decode()

    def test_the_offer_is_read_in_a_few_queries_whatever_the_selection(
        self, team, django_assert_max_num_queries
    ):
        incidents = Incident.objects.filter(
            pk__in=[opened(team).pk for _ in range(12)] + [opened(team, Stage.XRAY).pk]
        )

        with django_assert_max_num_queries(8):
            form = BulkAssignForm(incidents=incidents)
            choices = list(form.fields["assignee"].widget.choices)

        assert len(choices) == 1 + 3 + 2


class RefusedTests:
    def test_someone_not_offered_is_refused_for_each_incident(self, team):
        incidents = [opened(team), opened(team)]
        xray_worker = team.worker(Stage.XRAY)
        client = client_for(team.supervisor(Stage.FAE_RETEST))
        assert xray_worker.pk not in offered(bulk_assign(client, incidents))

        response = bulk_assign(client, incidents, apply="1", assignee=xray_worker.pk)

        texts = [str(m) for m in get_messages(response.wsgi_request)]
        for incident in incidents:
            assert any(
                f"Not assigned #{incident.pk}: {xray_worker} is not an active member of FAE" in t
                for t in texts
            )
            incident.refresh_from_db()
            assert (incident.step, incident.assignee) == (Step.UNASSIGNED, None)

    def test_someone_who_may_not_see_the_project_is_refused_for_its_incidents(self, team):
        ProjectAccess.objects.create(project="Falcon").people.add(team.supervisor(Stage.FAE_RETEST))
        hidden, visible = opened(team, project="Falcon"), opened(team)
        worker = team.worker(Stage.FAE_RETEST)

        response = bulk_assign(
            client_for(team.supervisor(Stage.FAE_RETEST)),
            [hidden, visible],
            apply="1",
            assignee=worker.pk,
        )

        texts = [str(m) for m in get_messages(response.wsgi_request)]
        assert any(f"Assigned 1: #{visible.pk}" in t for t in texts)
        assert any(f"Not assigned #{hidden.pk}" in t and "confidential" in t for t in texts)
        hidden.refresh_from_db()
        assert hidden.assignee is None

    def test_the_chosen_person_is_assigned_where_they_may_take_the_stage(self, team):
        incidents = [opened(team), opened(team)]

        bulk_assign(
            client_for(team.supervisor(Stage.FAE_RETEST)),
            incidents,
            apply="1",
            assignee=team.fae_colleague.pk,
        )

        assert set(Incident.objects.filter(assignee=team.fae_colleague)) == set(incidents)

    @pytest.mark.parametrize(
        "assignee", ["", "0", "99999999999999999999", "-1", "abc", "1\x00", "x" * 5000, "[1]"]
    )
    def test_hostile_assignees_ask_again_and_change_nothing(self, team, assignee):
        incident = opened(team)

        response = bulk_assign(
            client_for(team.supervisor(Stage.FAE_RETEST)), [incident], apply="1", assignee=assignee
        )

        if "\x00" in assignee:  # refused before any form reads it
            assert response.status_code == 400
        else:
            assert response.status_code == 200
            assert response.context["form"].errors
        incident.refresh_from_db()
        assert incident.assignee is None
