"""`GET /api/v1/incidents/<id>/similar/` ("Seen before"): the list the incident page shows, in
the API's shape, best first; only incidents the caller may read, a confidential project's
never through a token or to a person outside it; hostile ids refused, never a 5xx."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from incidents.choices import Stage, Verdict
from incidents.selectors import similar_incidents
from incidents.services import incident_cancel, incident_open
from tests.api.conftest import bearer
from tests.api.test_hostile import CATALOGUE, problems
from tests.factories import DeviceFactory, ProblemGroupFactory, StaffFactory
from tests.incidents.test_access import restrict
from tests.incidents.test_similar import stage_done
from tests.incidents.test_workflow import build_team

URL = "/api/v1/incidents/{}/similar/"


def opened(team, days_ago, project, **more):
    return incident_open(
        device=DeviceFactory(project=project, hardware_version="EVT2"),
        reporter=team.reporter,
        opened_at=timezone.now() - timedelta(days=days_ago),
        fail_station=more.pop("station", "CAMERA"),
        fail_item=more.pop("item", "BT_RSSI"),
        **more,
    )


@pytest.fixture
def history(db):
    team = build_team()
    incident = opened(team, 0, "Heron")
    group = ProblemGroupFactory()
    no_fault = stage_done(team, opened(team, 9, "Heron", problem_group=group))
    no_fault = stage_done(team, no_fault, "复测PASS，未复现", Verdict.PASS)
    other_station = opened(team, 5, "Heron", station="RF-OTA", stage=Stage.FAE_RETEST)
    other_station = incident_cancel(incident=other_station, by=team.admin, reason="Twice")
    hidden = opened(team, 1, "Kite")
    restrict("Kite", departments=[team.worker(Stage.EE_ANALYSIS).department])
    return {
        "team": team,
        "incident": incident,
        "no_fault": no_fault,
        "other_station": other_station,
        "hidden": hidden,
        "group": group,
    }


@pytest.mark.django_db
class SimilarReadTests:
    def test_it_answers_the_pages_list_best_first_in_the_apis_shape(self, history, machine):
        incident, no_fault = history["incident"], history["no_fault"]

        answer = machine.get(URL.format(incident.pk))

        assert answer.status_code == 200
        rows = answer.json()["results"]
        assert [row["id"] for row in rows] == [no_fault.pk, history["other_station"].pk]
        assert rows[0] == {
            "id": no_fault.pk,
            "serial_number": no_fault.device.serial_number,
            "stage": "returned",
            "outcome": "no_fault_found",
            "failure": {
                "station": "CAMERA",
                "item": "BT_RSSI",
                "log_urls": [],
                # Not given when it was opened: when it was reported.
                "failed_at": rows[0]["failure"]["failed_at"],
            },
            "resolution": "复测PASS，未复现",
            "problem_group": history["group"].pk,
            "score": rows[0]["score"],
        }
        assert rows[0]["score"] > rows[1]["score"]
        assert rows[1]["outcome"] == "cancelled"
        assert rows[1]["problem_group"] is None

    def test_a_person_gets_what_their_page_shows(self, history):
        ee_staff = history["team"].worker(Stage.EE_ANALYSIS)
        client = Client()
        client.force_login(ee_staff)

        rows = client.get(URL.format(history["incident"].pk)).json()["results"]

        assert [row["id"] for row in rows] == [
            row.incident.pk for row in similar_incidents(history["incident"], ee_staff)
        ]
        assert history["hidden"].pk in [row["id"] for row in rows]

    def test_a_confidential_project_never_leaks_through_a_token_or_to_an_outsider(
        self, history, machine
    ):
        outsider = Client()
        outsider.force_login(StaffFactory())
        for client in (machine, outsider):
            listed = client.get(URL.format(history["incident"].pk)).json()["results"]
            asked = client.get(URL.format(history["hidden"].pk))

            assert history["hidden"].pk not in [row["id"] for row in listed]
            assert asked.status_code == 404
            assert asked.json()["error"]["code"] == "not_found"

    def test_it_needs_the_scope_to_read_incidents(self, history, token_for):
        answer = bearer(token_for("devices:read")).get(URL.format(history["incident"].pk))

        assert answer.status_code == 403
        assert Client().get(URL.format(history["incident"].pk)).status_code == 401

    def test_hostile_ids_are_refused_in_the_apis_shape_never_a_5xx(self, history, machine):
        urls = [URL.format(value) for value in CATALOGUE if value != "%20"]

        assert not (found := problems(machine, urls)), "\n".join(found)
        for value in (str(2**63), "99999999999999999999", "-1", "0", "abc", "1.5", "2147483648"):
            answer = machine.get(URL.format(value))
            assert answer.status_code in (400, 404), (value, answer.status_code)
            assert answer.json()["error"]["message"]
        assert machine.get(URL.format(2**62)).status_code == 404
