"""Closed means closed: a returned, scrapped or cancelled incident's details, failure and
problem group change for nobody, by no path (the service, the change form, the bulk action),
and its page shows them read-only."""

import pytest
from django.urls import reverse

from incidents.choices import Stage
from incidents.services import WorkflowError, incident_cancel, incident_update
from tests.factories import ProblemGroupFactory
from tests.incidents.test_people import client_for
from tests.incidents.test_workflow import build_team, open_incident
from tests.incidents.test_workflow_admin import messages_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return build_team()


def closed(team):
    incident = open_incident(team, Stage.FAE_RETEST)
    return incident_cancel(incident=incident, by=team.admin, reason="Opened twice")


class ClosedIncidentTests:
    @pytest.mark.parametrize(
        "change",
        [
            {"description": "Rewritten after the fact"},
            {"fail_item": "SOMETHING_ELSE"},
            {"problem_group": "group"},
        ],
    )
    def test_the_service_refuses_every_change_for_everyone(self, team, change):
        incident = closed(team)
        if "problem_group" in change:
            change = {"problem_group": ProblemGroupFactory()}

        with pytest.raises(WorkflowError, match="is closed"):
            incident_update(incident=incident, by=team.admin, **change)

        incident.refresh_from_db()
        assert incident.description == "Fails BT_RSSI at station 3"
        assert incident.problem_group is None
        assert not incident.events.filter(action="edit").exists()

    def test_the_change_page_shows_a_closed_incident_read_only(self, team):
        incident = closed(team)
        client = client_for(team.supervisor(Stage.FAE_RETEST))
        url = reverse("admin:incidents_incident_change", args=[incident.pk])

        page = client.get(url)
        client.post(url, {"description": "Rewritten", "problem_group": "", "_save": "Save"})

        assert "description" not in page.context["adminform"].form.fields
        incident.refresh_from_db()
        assert incident.description == "Fails BT_RSSI at station 3"

    def test_the_bulk_problem_group_leaves_closed_incidents_as_they_are(self, team):
        group = ProblemGroupFactory()
        done, working = closed(team), open_incident(team)
        client = client_for(team.supervisor(Stage.REPORTED))

        response = client.post(
            reverse("admin:incidents_incident_changelist"),
            {
                "action": "bulk_problem_group",
                "_selected_action": [done.pk, working.pk],
                "apply": "1",
                "problem_group": group.pk,
            },
            follow=True,
        )

        assert list(group.incidents.all()) == [working]
        assert any(f"#{done.pk}" in m and "is closed" in m for m in messages_of(response))
