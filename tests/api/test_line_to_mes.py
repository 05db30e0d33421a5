"""The whole integration as a factory runs it: the MES registers its webhook through the API, a
station's script posts three failing runs of a device, an incident opens by itself with the
failure and its logs and the line named as its reporter, people take it through its stages
to the end, and the MES receives every event of its life, each signed, through a real HTTP
receiver on 127.0.0.1."""

import json

import pytest
from django.test import TestCase

from incidents.choices import Stage, Verdict
from incidents.models import Incident, Station
from tests.api.conftest import bearer
from tests.factories import DeviceFactory
from tests.incidents.test_webhooks import QUEUE, SECRET, work_the_queue
from tests.incidents.test_workflow import build_team, walk_stage
from tests.incidents.webhook_receiver import Receiver

pytestmark = pytest.mark.django_db


def committed():
    return TestCase.captureOnCommitCallbacks(execute=True)


def run(result_id: str, minute: int) -> dict:
    return {
        "result_id": result_id,
        "serial_number": "SN-E2E-1",
        "station": "FCT-7",
        "test_item": "MIC_SNR",
        "passed": False,
        "value": 41.0,
        "low_limit": 55,
        "high_limit": 90,
        "log_url": f"https://logs.example/FCT-7/{result_id}.txt",
        "tested_at": f"2026-03-04T10:{minute:02d}:00+08:00",
    }


@pytest.fixture
def receiver():
    found = Receiver(secret=SECRET).start()
    yield found
    found.stop()


def test_three_fails_open_an_incident_and_the_mes_hears_its_whole_life(
    settings, token_for, receiver
):
    settings.TASKS = QUEUE
    Station.objects.create(name="FCT-7")
    device = DeviceFactory(serial_number="SN-E2E-1")
    team = build_team()
    mes = bearer(token_for("webhooks:admin", name="MES"))
    registered = mes.post(
        "/api/v1/webhooks/",
        json.dumps(
            {
                "url": receiver.url,
                "secret": SECRET,
                "events": ["incident.opened", "incident.stage_changed", "incident.closed"],
            }
        ),
        content_type="application/json",
    )
    assert registered.status_code == 201, registered.content
    station = bearer(token_for("results:write", name="FCT-7 script"))

    with committed():
        answer = station.post(
            "/api/v1/results/",
            json.dumps({"results": [run("R1", 1), run("R2", 2), run("R3", 3)]}),
            content_type="application/json",
        )

    assert answer.status_code == 200, answer.content
    incident = Incident.objects.get(device=device)
    assert answer.json()["incidents_opened"] == [incident.pk]
    assert (incident.fail_station, incident.fail_item) == ("FCT-7", "MIC_SNR")
    assert incident.test_log_url == "https://logs.example/FCT-7/R1.txt"
    assert "https://logs.example/FCT-7/R3.txt" in incident.description
    assert incident.reporter is None and incident.reported_by_token.name == "FCT-7 script"

    with committed():
        incident = walk_stage(incident, team)  # reported -> FAE retest
    with committed():
        incident = walk_stage(incident, team, Verdict.PASS)  # -> returned to the line
    assert incident.stage == Stage.RETURNED
    work_the_queue()

    # Deliveries come at least once and in no set order (README, "Webhooks").
    told = sorted((r.event, r.json["data"]["incident"]["id"]) for r in receiver.received)
    assert told == [
        ("incident.closed", incident.pk),
        ("incident.opened", incident.pk),
        ("incident.stage_changed", incident.pk),
        ("incident.stage_changed", incident.pk),
    ]
    assert all(r.signature_valid for r in receiver.received)
    opened = next(r.json for r in receiver.received if r.event == "incident.opened")
    assert opened["data"]["incident"]["serial_number"] == "SN-E2E-1"
    failure = opened["data"]["incident"]["failure"]
    assert (failure["station"], failure["item"]) == ("FCT-7", "MIC_SNR")
    assert failure["log_urls"][0] == "https://logs.example/FCT-7/R1.txt"
