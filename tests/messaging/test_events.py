"""The workflow live in the incident's room: every step of it is told as one system line and
announced to the incident's open pages, after the change commits and never before; a change that
rolls back tells nothing; a failure to tell never fails the change. A move of the device, made
at the scan station or by the workflow, reaches the incident's room and the device's own page."""

import asyncio
import json
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from incidents import dashboard
from incidents.choices import Stage, Step, Verdict, WorkflowAction
from incidents.models import Incident
from incidents.services import (
    analysis_result_add,
    incident_approve,
    incident_assign,
    incident_cancel,
    incident_hand_over,
    incident_reject,
    incident_submit,
    operation_record_add,
)
from incidents.signals import incident_changed, record_added
from locations.codes import label_payload
from locations.services import device_move, device_move_undo
from messaging import broadcast, events, services
from messaging.choices import MessageKind
from messaging.models import Message
from tests.factories import (
    DeviceFactory,
    EmployeeFactory,
    IncidentFactory,
    LocationFactory,
    StaffFactory,
)
from tests.incidents.test_workflow import assigned, build_team, open_incident, submitted
from tests.messaging.conftest import communicator

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(db):
    return build_team()


class Listener:
    """A connection of an open page, subscribed to a group of the real channel layer. It reads
    in a loop of its own: the layer's receive buffer belongs to the loop that first used it."""

    def __init__(self, group: str):
        self.layer = get_channel_layer()
        self.loop = asyncio.new_event_loop()
        self.channel = self.loop.run_until_complete(self.layer.new_channel())
        self.loop.run_until_complete(self.layer.group_add(group, self.channel))

    def heard(self, seconds: float = 0.5) -> list[dict]:
        """Everything sent to the group so far (waiting `seconds` for more)."""

        async def drain():
            got = []
            while True:
                try:
                    got.append(await asyncio.wait_for(self.layer.receive(self.channel), seconds))
                except TimeoutError:
                    return got

        return self.loop.run_until_complete(drain())

    def close(self) -> None:
        self.loop.close()


@pytest.fixture
def listen():
    """Listener(group) for the test, closed after it."""
    opened = []

    def open_(group: str) -> Listener:
        opened.append(Listener(group))
        return opened[-1]

    yield open_
    for listener in opened:
        listener.close()


def system_lines(incident) -> list[Message]:
    return list(Message.objects.filter(room__incident=incident, kind=MessageKind.SYSTEM))


def room_of(incident):
    return services.room_for(incident=incident)


class WorkflowToldInTheRoomTests:
    def test_an_assignment_is_one_system_line_announced_only_after_commit(
        self, team, django_capture_on_commit_callbacks, listen
    ):
        incident = open_incident(team, Stage.FAE_RETEST)
        page = listen(broadcast.room_group(room_of(incident).pk))
        supervisor, worker = team.supervisor(Stage.FAE_RETEST), team.worker(Stage.FAE_RETEST)

        with django_capture_on_commit_callbacks(execute=True):
            incident_assign(incident=incident, assignee=worker, by=supervisor, comment="Go")
            assert system_lines(incident) == []
            assert page.heard() == []

        [line] = system_lines(incident)
        assert line.author == supervisor
        assert line.event == {
            "code": "workflow",
            "action": "assign",
            "from_stage": "fae_retest",
            "to_stage": "fae_retest",
            "from_step": "unassigned",
            "to_step": "assigned",
            "assignee": worker.get_full_name(),
            "comment": "Go",
        }
        heard = page.heard()
        assert [frame["type"] for frame in heard] == [broadcast.CHAT_MESSAGE, broadcast.ROOM_EVENT]
        assert heard[0]["message"]["id"] == line.pk
        assert heard[0]["message"]["kind"] == "system"
        assert heard[1] == {
            "type": broadcast.ROOM_EVENT,
            "event": broadcast.INCIDENT_CHANGED,
            "incident": incident.pk,
            "action": "assign",
            "stage": "fae_retest",
            "step": "assigned",
        }

    def test_a_rolled_back_action_announces_nothing(
        self, team, django_capture_on_commit_callbacks, listen
    ):
        incident = open_incident(team, Stage.FAE_RETEST)
        page = listen(broadcast.room_group(room_of(incident).pk))

        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises(RuntimeError),
            transaction.atomic(),
        ):
            incident_assign(
                incident=incident,
                assignee=team.worker(Stage.FAE_RETEST),
                by=team.supervisor(Stage.FAE_RETEST),
            )
            raise RuntimeError("the request failed after the assignment")

        assert callbacks == []
        assert system_lines(incident) == []
        assert page.heard() == []
        incident.refresh_from_db()
        assert incident.step == Step.UNASSIGNED

    def test_a_failure_to_tell_never_fails_the_action(
        self, team, django_capture_on_commit_callbacks, monkeypatch, caplog
    ):
        incident = open_incident(team, Stage.FAE_RETEST)

        def broken(**kwargs):
            raise ConnectionError("the chat is down")

        monkeypatch.setattr(services, "room_post_event", broken)
        with django_capture_on_commit_callbacks(execute=True):
            incident_assign(
                incident=incident,
                assignee=team.worker(Stage.FAE_RETEST),
                by=team.supervisor(Stage.FAE_RETEST),
            )

        incident.refresh_from_db()
        assert incident.step == Step.ASSIGNED
        assert "Could not tell the room" in caplog.text

    def test_every_step_of_a_stage_is_told_in_order_with_what_the_page_refreshes(
        self, team, django_capture_on_commit_callbacks, listen
    ):
        incident = open_incident(team, Stage.FAE_RETEST)
        page = listen(broadcast.room_group(room_of(incident).pk))
        supervisor, worker = team.supervisor(Stage.FAE_RETEST), team.worker(Stage.FAE_RETEST)
        log = SimpleUploadedFile("retest.log", b"BT_RSSI -92 dBm FAIL\n")

        with django_capture_on_commit_callbacks(execute=True):
            incident_assign(incident=incident, assignee=worker, by=supervisor)
            record = operation_record_add(
                incident=incident, by=worker, action="Retest", files=[log]
            )
            analysis_result_add(
                incident=incident,
                by=worker,
                findings="Reproduced",
                verdict=Verdict.FAIL,
                operation_record=record,
            )
            incident_submit(incident=incident, by=worker)
            incident_approve(incident=incident, by=supervisor)

        lines = system_lines(incident)
        assert [line.event["action"] for line in lines] == [
            "assign",
            "record",
            "result",
            "submit",
            "approve",
        ]
        assert (lines[1].event["comment"], lines[1].event["files"]) == ("Retest", ["retest.log"])
        assert (lines[2].event["verdict"], lines[2].event["comment"]) == ("fail", "Reproduced")
        assert (lines[4].event["from_stage"], lines[4].event["to_stage"]) == ("fae_retest", "xray")
        events_heard = [
            (frame["event"], frame["action"])
            for frame in page.heard()
            if frame["type"] == broadcast.ROOM_EVENT
        ]
        assert events_heard == [
            (broadcast.INCIDENT_CHANGED, "assign"),
            (broadcast.RECORD_ADDED, "record"),
            (broadcast.RECORD_ADDED, "result"),
            (broadcast.INCIDENT_CHANGED, "submit"),
            (broadcast.INCIDENT_CHANGED, "approve"),
        ]
        # Each line is dated like the timeline entry it tells.
        told = sorted(event.created_at for event in incident.events.exclude(action="open"))
        assert [line.created_at for line in lines] == told

    def test_a_send_back_is_told_with_its_reason(self, team, django_capture_on_commit_callbacks):
        incident = submitted(team)

        with django_capture_on_commit_callbacks(execute=True):
            incident_reject(
                incident=incident, by=team.supervisor(Stage.FAE_RETEST), reason="Attach the log"
            )

        line = system_lines(incident)[-1]
        assert line.event["action"] == WorkflowAction.REJECT
        assert (line.event["to_step"], line.event["comment"]) == ("assigned", "Attach the log")

    def test_a_cancellation_is_told_with_its_reason(self, team, django_capture_on_commit_callbacks):
        incident = submitted(team)

        with django_capture_on_commit_callbacks(execute=True):
            incident_cancel(
                incident=incident, by=team.supervisor(Stage.FAE_RETEST), reason="Duplicate"
            )

        line = system_lines(incident)[-1]
        assert line.event["action"] == WorkflowAction.CANCEL
        assert (line.event["to_stage"], line.event["comment"]) == ("cancelled", "Duplicate")

    def test_a_stage_put_back_in_the_queue_is_told_with_who_worked_on_it(
        self, team, django_capture_on_commit_callbacks
    ):
        incident = assigned(team)
        worker = team.worker(Stage.FAE_RETEST)

        with django_capture_on_commit_callbacks(execute=True):
            incident_hand_over(incident=incident, to=None, by=team.supervisor(Stage.FAE_RETEST))

        line = system_lines(incident)[-1]
        assert line.event["action"] == WorkflowAction.UNASSIGN
        assert (line.event["to_step"], line.event["assignee"]) == (
            Step.UNASSIGNED,
            worker.get_full_name(),
        )

    def test_details_edited_and_incidents_opened_are_not_told(
        self, team, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            incident = open_incident(team, Stage.FAE_RETEST)

        assert system_lines(incident) == []


class DeviceMovesToldTests:
    def test_a_hand_over_on_assignment_is_told_after_the_assignment(
        self, team, django_capture_on_commit_callbacks
    ):
        incident = open_incident(team, Stage.FAE_RETEST)
        worker = team.worker(Stage.FAE_RETEST)

        with django_capture_on_commit_callbacks(execute=True):
            incident_assign(
                incident=incident,
                assignee=worker,
                by=team.supervisor(Stage.FAE_RETEST),
                hand_over_device=True,
            )

        assign, moved = system_lines(incident)
        assert assign.event["code"] == "workflow"
        assert moved.event["code"] == "device.moved"
        assert moved.event["serial"] == incident.device.serial_number
        assert moved.event["to_holder"] == worker.get_full_name()
        assert moved.pk > assign.pk

    def test_an_undone_move_is_told_and_reaches_the_devices_page(
        self, team, django_capture_on_commit_callbacks, listen
    ):
        incident = assigned(team)
        device = incident.device
        shelf, mover = LocationFactory(code="SHELF-9", name="Shelf 9"), team.admin
        device_page = listen(broadcast.device_group(device.pk))

        with django_capture_on_commit_callbacks(execute=True):
            device = device_move(device=device, moved_by=mover, location=shelf, reason="scan")
        history_id = device.history.order_by("-history_id").first().history_id
        with django_capture_on_commit_callbacks(execute=True):
            device_move_undo(device=device, history_id=history_id, by=mover)

        moves = [line.event for line in system_lines(incident) if line.event["code"] != "workflow"]
        assert [(m["from_location"], m["to_location"]) for m in moves] == [
            (str(incident.device.location), "SHELF-9 · Shelf 9"),
            ("SHELF-9 · Shelf 9", str(incident.device.location)),
        ]
        assert moves[1]["reason"] == {"code": "undo", "reason": "scan"}
        assert [frame["event"] for frame in device_page.heard()] == [broadcast.DEVICE_MOVED] * 2

    def test_an_old_move_told_late_is_not_news_in_the_room(
        self, team, django_capture_on_commit_callbacks, listen
    ):
        incident = assigned(team)
        device_page = listen(broadcast.device_group(incident.device_id))

        with django_capture_on_commit_callbacks(execute=True):
            device_move(
                device=incident.device,
                moved_by=team.admin,
                location=LocationFactory(),
                reason="legacy",
                at=timezone.now() - timedelta(days=400),
            )

        assert system_lines(incident) == []
        assert [frame["event"] for frame in device_page.heard()] == [broadcast.DEVICE_MOVED]

    def test_a_moved_device_without_an_open_incident_only_refreshes_its_page(
        self, django_capture_on_commit_callbacks, listen
    ):
        device = DeviceFactory()
        device_page = listen(broadcast.device_group(device.pk))

        with django_capture_on_commit_callbacks(execute=True):
            device_move(device=device, moved_by=StaffFactory(), location=LocationFactory())

        assert Message.objects.count() == 0
        assert device_page.heard() == [
            {"type": broadcast.ROOM_EVENT, "event": broadcast.DEVICE_MOVED, "device": device.pk}
        ]

    def test_a_move_rolled_back_is_never_told(self, django_capture_on_commit_callbacks, listen):
        incident = IncidentFactory()
        device_page = listen(broadcast.device_group(incident.device_id))

        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises(RuntimeError),
            transaction.atomic(),
        ):
            device_move(device=incident.device, moved_by=StaffFactory(), location=LocationFactory())
            raise RuntimeError

        assert callbacks == []
        assert system_lines(incident) == []
        assert device_page.heard() == []

    def test_the_receiver_never_raises(self, monkeypatch, caplog):
        monkeypatch.setattr(events, "_tell_device_moved", lambda *args: 1 / 0)

        events.device_moved_committed(None, device_id=1, history_id=1, backdated=False)

        assert "Could not tell about the move of device 1" in caplog.text


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
class ScanStationMoveTests:
    async def test_a_scan_station_move_reaches_the_incidents_room_and_the_devices_socket(self):
        incident, operator, shelf = await sync_to_async(
            lambda: (IncidentFactory(), StaffFactory(display_name="Op"), LocationFactory())
        )()
        device_socket = await sync_to_async(communicator)(
            f"/ws/devices/{incident.device_id}/", operator
        )
        room_socket = await sync_to_async(communicator)(
            f"/ws/rooms/incident/{incident.pk}/", operator
        )
        for socket in (device_socket, room_socket):
            accepted, _code = await socket.connect(timeout=5)
            assert accepted
        await room_socket.send_json_to({"type": "resume", "after": 0})

        def scan_and_move():
            client = Client()
            client.force_login(operator)
            api = reverse("admin:locations_device_scan_api")
            for code in (label_payload(incident.device), label_payload(shelf)):
                client.post(api, json.dumps({"op": "scan", "code": code}), "application/json")
            return client.post(api, json.dumps({"op": "commit"}), "application/json").json()

        reply = await sync_to_async(scan_and_move)()
        assert reply["level"] == "moved"

        frame = json.loads(await device_socket.receive_from(timeout=5))
        assert frame == {"type": "event", "event": "device.moved", "device": incident.device_id}
        seen = []
        while not any(f.get("event") == "device.moved" for f in seen if f["type"] == "event"):
            seen.append(json.loads(await room_socket.receive_from(timeout=5)))
        [line] = [f for f in seen if f["type"] == "message"]
        assert line["kind"] == "system"
        assert line["author"]["name"] == "Op"
        assert line["event"]["code"] == "device.moved"
        assert line["event"]["serial"] == incident.device.serial_number
        assert line["event"]["to_location"] == str(shelf)
        for socket in (device_socket, room_socket):
            await socket.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
class DashboardSocketTests:
    async def test_an_incident_opened_or_moved_reaches_the_dashboards_and_nothing_more(self):
        team = await sync_to_async(build_team)()
        supervisor = team.supervisor(Stage.FAE_RETEST)
        socket = await sync_to_async(communicator)("/ws/dashboard/", supervisor)
        accepted, _code = await socket.connect(timeout=5)
        assert accepted

        incident = await sync_to_async(open_incident)(team, Stage.FAE_RETEST)
        opened = json.loads(await socket.receive_from(timeout=5))
        await sync_to_async(incident_assign)(
            incident=incident, assignee=team.worker(Stage.FAE_RETEST), by=supervisor
        )
        moved = json.loads(await socket.receive_from(timeout=5))

        assert opened == moved == {"type": "event", "event": "incidents.changed"}
        await socket.disconnect()

    async def test_someone_who_may_not_see_incidents_is_refused_the_dashboards_socket(self):
        nobody = await sync_to_async(EmployeeFactory)()
        socket = await sync_to_async(communicator)("/ws/dashboard/", nobody)
        anonymous = await sync_to_async(communicator)("/ws/dashboard/")

        for refused in (socket, anonymous):
            accepted, _code = await refused.connect(timeout=5)
            assert not accepted


class WorkflowListenersTests:
    @pytest.mark.parametrize("signal", [incident_changed, record_added])
    def test_the_dashboard_counts_again_before_the_chat_tells_the_dashboards(self, signal):
        """The chat's receiver tells open dashboards to reload: their figures must be counted
        again by then (the dashboard's receiver runs first), or they reload what was kept."""
        told = signal.send(
            sender=Incident, incident_id=0, event_id=0, action=WorkflowAction.OPEN, files=[]
        )

        receivers = [receiver for receiver, _response in told]
        assert dashboard.figures_changed in receivers
        chat = events.incident_changed_committed, events.record_added_committed
        [told_the_chat] = [receiver for receiver in receivers if receiver in chat]
        assert receivers.index(dashboard.figures_changed) < receivers.index(told_the_chat)
