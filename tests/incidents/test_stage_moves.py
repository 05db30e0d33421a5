"""A device in the middle of its stage's work stays where the stage works: taking it elsewhere is
for the stage's department (with a reason) or an administrator, whatever path the move comes by
(the service, the move form, the scan station, which asks before anything is recorded)."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from incidents import rules
from incidents.choices import Stage
from incidents.models import StageOwnership
from locations.codes import label_payload
from locations.services import device_move
from locations.signals import MOVE_REASON_NEEDED, MOVE_REFUSED
from tests.factories import LocationFactory, StaffFactory
from tests.incidents.test_workflow import build_team, open_incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return build_team()


@pytest.fixture
def lab():
    lab = LocationFactory(code="FAE-LAB-T")
    StageOwnership.objects.filter(stage=Stage.FAE_RETEST).update(work_location=lab)
    return lab


@pytest.fixture
def incident(team, lab):
    """An incident in FAE retest whose device sits in the FAE lab."""
    incident = open_incident(team, Stage.FAE_RETEST)
    device = incident.device
    device.location = lab
    device.save(update_fields=["location"])
    return incident


def refusal_code(error: ValidationError) -> str:
    return error.error_list[0].code


def where(device):
    device.refresh_from_db()
    return device.location_id, device.history.count()


class MoveAwayRuleTests:
    def test_a_production_staffer_cannot_take_the_device_out_of_the_lab_mid_stage(
        self, team, incident, lab
    ):
        device = incident.device
        before = where(device)
        production = team.reporter

        with pytest.raises(ValidationError) as refused:
            device_move(
                device=device,
                moved_by=production,
                location=LocationFactory(),
                reason="Back to the line",
            )

        assert refusal_code(refused.value) == MOVE_REFUSED
        words = refused.value.messages[0]
        assert device.serial_number in words and lab.code in words
        assert "FAE retest" in words and f"#{incident.pk}" in words
        assert "FAE" in words  # the department working the stage
        assert where(device) == before

    def test_the_stages_department_is_asked_for_a_reason_then_may_move_it(self, team, incident):
        device, shelf = incident.device, LocationFactory()
        before = where(device)

        with pytest.raises(ValidationError) as asked:
            device_move(device=device, moved_by=team.worker(Stage.FAE_RETEST), location=shelf)
        assert refusal_code(asked.value) == MOVE_REASON_NEEDED
        assert where(device) == before

        device_move(
            device=device,
            moved_by=team.worker(Stage.FAE_RETEST),
            location=shelf,
            reason="Needs the oscilloscope",
        )
        assert where(device)[0] == shelf.pk

    @pytest.mark.parametrize("who", ["supervisor", "administrator"])
    def test_the_stages_supervisor_and_an_administrator_move_it_with_a_reason(
        self, team, incident, who
    ):
        person = team.supervisor(Stage.FAE_RETEST) if who == "supervisor" else team.admin
        shelf = LocationFactory()

        with pytest.raises(ValidationError):
            device_move(device=incident.device, moved_by=person, location=shelf, reason="  ")
        device_move(device=incident.device, moved_by=person, location=shelf, reason="Urgent")

        assert where(incident.device)[0] == shelf.pk

    def test_moves_that_leave_the_device_at_work_or_bring_it_there_are_not_held(
        self, team, incident, lab
    ):
        device, outsider = incident.device, StaffFactory()
        # Another holder in the lab: the device stays where the stage works.
        device_move(device=device, moved_by=outsider, holder=outsider)
        # A device elsewhere goes anywhere, into the lab too.
        device_move(
            device=device,
            moved_by=team.worker(Stage.FAE_RETEST),
            location=LocationFactory(),
            reason="Bench",
        )
        device_move(device=device, moved_by=outsider, location=LocationFactory())
        device_move(device=device, moved_by=outsider, location=lab)
        assert where(device)[0] == lab.pk

    def test_a_stage_without_a_work_place_and_a_closed_incident_hold_nothing(self, team, lab):
        incident = open_incident(team, Stage.XRAY)
        incident.device.location = lab
        incident.device.save(update_fields=["location"])

        device_move(device=incident.device, moved_by=StaffFactory(), location=LocationFactory())

    def test_an_old_move_told_late_and_the_command_line_are_not_held(self, incident):
        device = incident.device
        device_move(
            device=device,
            moved_by=StaffFactory(),
            location=LocationFactory(),
            at=timezone.now() - timedelta(days=400),
        )
        device_move(device=device, moved_by=None, location=LocationFactory())

    def test_the_rule_answers_without_moving(self, team, incident):
        shelf = LocationFactory()

        code, _words = rules.move_away_refusal(
            incident.device, to=shelf, by=team.reporter, reason="x"
        )
        assert code == MOVE_REFUSED
        assert (
            rules.move_away_refusal(
                incident.device, to=shelf, by=team.worker(Stage.FAE_RETEST), reason="x"
            )
            is None
        )


class MoveAwayPathsTests:
    def test_the_move_form_shows_the_refusal_and_moves_nothing(self, client, team, incident):
        device = incident.device
        before = where(device)
        client.force_login(team.reporter)

        response = client.post(
            reverse("admin:locations_device_move_action", args=[device.pk]),
            {"location": LocationFactory().pk, "holder": "", "reason": "Back to the line"},
        )

        assert response.status_code == 200
        assert "which is not finished" in response.content.decode()
        assert where(device) == before

    def test_the_scan_station_asks_a_reason_before_recording_then_moves(
        self, client, team, incident
    ):
        device, shelf = incident.device, LocationFactory()
        before = where(device)
        client.force_login(team.worker(Stage.FAE_RETEST))

        def post(**data):
            response = client.post(
                reverse("admin:locations_device_scan_api"),
                json.dumps(data),
                content_type="application/json",
            )
            assert response.status_code == 200
            return response.json()

        post(op="scan", code=label_payload(device))
        asked = post(op="scan", code=label_payload(shelf))
        # Two things scanned: the station says so before anything is recorded.
        assert asked["level"] == "reason"
        assert "give a reason" in asked["message"]
        assert asked["pending"] == {"device": device.serial_number, "location": str(shelf)}
        assert post(op="commit", reason="")["level"] == "reason"
        assert where(device) == before

        moved = post(op="commit", reason="Needs the oscilloscope")
        assert moved["level"] == "moved"
        assert where(device)[0] == shelf.pk
        assert device.history.order_by("-history_id").first().history_change_reason == (
            "Needs the oscilloscope"
        )

    def test_the_scan_station_refuses_another_department_before_recording(
        self, client, team, incident
    ):
        device = incident.device
        before = where(device)
        client.force_login(team.reporter)
        url = reverse("admin:locations_device_scan_api")
        for code in (label_payload(device), label_payload(LocationFactory())):
            reply = client.post(
                url, json.dumps({"op": "scan", "code": code}), content_type="application/json"
            ).json()

        assert reply["level"] == "error"
        assert "only FAE" in reply["message"]
        assert reply["pending"] == {}
        assert where(device) == before
