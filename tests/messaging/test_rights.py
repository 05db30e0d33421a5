"""Open sockets keep up with their person's rights (messaging.rights): deactivated, a role or
capability taken away, a project restricted, and the socket closes with a reason frame in the
person's language; every frame in and out is checked against the rights as they are now.
Through the real ASGI application, on the in-memory layer and on real Redis."""

import json
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Group
from django.db import transaction

from incidents.choices import Role
from incidents.models import Department, Employee, ProjectAccess
from incidents.services.people import employee_deactivate
from messaging import broadcast, services
from messaging.models import Message
from tests.factories import AdminFactory, DeviceFactory, IncidentFactory, StaffFactory
from tests.messaging.test_consumers import connected, next_message, silent

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("each_layer"),
]

CLOSED = {"type": "websocket.close", "code": 4403}


@pytest.fixture
def people(db):
    fae = Department.objects.get(code="FAE")
    ee = Department.objects.get(code="EE")
    return {
        "incident": IncidentFactory(device=DeviceFactory(project="G18")),
        "alice": StaffFactory(department=fae, display_name="Alice"),
        "bob": StaffFactory(department=fae, display_name="Bob"),
        "erin": StaffFactory(department=ee, display_name="Erin"),
        "admin": AdminFactory(),
    }


def room_path(incident) -> str:
    return f"/ws/rooms/incident/{incident.pk}/"


async def closed_with_reason(client, timeout=5.0) -> dict:
    """The reason frame (presence frames before it skipped), then the close."""
    while True:
        frame = json.loads(await client.receive_from(timeout=timeout))
        if frame["type"] != "presence":
            break
    assert await client.receive_output(timeout=timeout) == CLOSED
    return frame


async def say(client, text: str) -> None:
    await client.send_json_to({"type": "send", "client_id": str(uuid.uuid4()), "text": text})


def stored(text: str) -> int:
    return Message.objects.filter(text=text).count()


def restrict(project: str, *departments: str) -> None:
    """As the restriction's page saves it: the row, then whom it names, in one transaction."""
    with transaction.atomic():
        restriction = ProjectAccess.objects.create(project=project)
        restriction.departments.set(Department.objects.filter(code__in=departments))


def without_pushes(monkeypatch) -> None:
    """The channel layer loses every `rights.check` (a fault): only the stamps tell."""
    monkeypatch.setattr(broadcast, "rights_check_people", lambda ids: None)
    monkeypatch.setattr(broadcast, "rights_check_rooms", lambda ids: None)
    monkeypatch.setattr(broadcast, "rights_check_device_pages", lambda: None)


class DeactivatedTests:
    async def test_a_deactivated_persons_socket_is_closed_with_a_reason_and_hears_no_more(
        self, people
    ):
        alice = await connected(room_path(people["incident"]), people["alice"])
        bob = await connected(room_path(people["incident"]), people["bob"])

        await sync_to_async(employee_deactivate)(employee=people["alice"], by=people["admin"])

        reason = await closed_with_reason(alice)
        assert reason["type"] == "error"
        assert reason["code"] == "account_inactive"
        assert "deactivated" in reason["message"]
        await say(bob, "after alice left")
        assert (await next_message(bob))["text"] == "after alice left"
        assert await alice.receive_nothing(timeout=0.5)
        await bob.disconnect()

    async def test_the_reason_is_in_the_persons_language(self, people):
        await sync_to_async(Employee.objects.filter(pk=people["alice"].pk).update)(
            language="zh-hans"
        )
        alice = await connected(room_path(people["incident"]), people["alice"])

        await sync_to_async(employee_deactivate)(employee=people["alice"], by=people["admin"])

        assert (await closed_with_reason(alice))["message"] == "您的账号已被停用，此连接已关闭。"

    async def test_a_frame_sent_after_deactivation_is_refused_and_nothing_stored(
        self, people, monkeypatch
    ):
        without_pushes(monkeypatch)
        alice = await connected(room_path(people["incident"]), people["alice"])

        await sync_to_async(employee_deactivate)(employee=people["alice"], by=people["admin"])
        await alice.send_json_to(
            {"type": "send", "client_id": str(uuid.uuid4()), "text": "@[1] still here"}
        )

        assert (await closed_with_reason(alice))["code"] == "account_inactive"
        assert await sync_to_async(stored)("@[1] still here") == 0

    async def test_a_resume_sent_after_deactivation_is_refused(self, people, monkeypatch):
        without_pushes(monkeypatch)
        await sync_to_async(_send)(people, "before")
        alice = await connected(room_path(people["incident"]), people["alice"])

        await sync_to_async(employee_deactivate)(employee=people["alice"], by=people["admin"])
        await alice.send_json_to({"type": "resume", "after": 0})

        assert (await closed_with_reason(alice))["code"] == "account_inactive"

    async def test_a_deactivated_persons_dashboard_socket_is_closed(self, people):
        dashboard = await connected("/ws/dashboard/", people["alice"])

        await sync_to_async(employee_deactivate)(employee=people["alice"], by=people["admin"])

        assert (await closed_with_reason(dashboard))["code"] == "account_inactive"


class RoleTakenTests:
    async def test_losing_the_role_closes_the_socket(self, people):
        alice = await connected(room_path(people["incident"]), people["alice"])

        await sync_to_async(people["alice"].groups.clear)()

        assert (await closed_with_reason(alice))["code"] == "access_lost"

    async def test_the_role_losing_its_capability_closes_its_holders_sockets(self, people):
        alice = await connected(room_path(people["incident"]), people["alice"])
        admin = await connected(room_path(people["incident"]), people["admin"])

        def withdraw():
            staff = Group.objects.get(name=Role.STAFF)
            staff.permissions.remove(*staff.permissions.filter(codename="view_incident"))

        await sync_to_async(withdraw)()

        assert (await closed_with_reason(alice))["code"] == "access_lost"
        await say(admin, "admins still see it")
        assert (await next_message(admin))["text"] == "admins still see it"
        await admin.disconnect()

    async def test_a_change_made_where_nothing_is_told_is_seen_within_a_beat(
        self, people, monkeypatch
    ):
        from messaging import selectors

        monkeypatch.setattr(selectors, "PRESENCE_BEAT", 0.3)
        alice = await connected(room_path(people["incident"]), people["alice"])

        # A bulk write: no signal, no stamp, no push.
        await sync_to_async(Employee.objects.filter(pk=people["alice"].pk).update)(is_active=False)

        assert (await closed_with_reason(alice, timeout=3))["code"] == "account_inactive"


class RestrictedProjectTests:
    async def test_restricting_the_project_closes_outsiders_and_keeps_insiders(self, people):
        alice = await connected(room_path(people["incident"]), people["alice"])
        erin = await connected(room_path(people["incident"]), people["erin"])
        await sync_to_async(restrict)("OTHER", "FAE")  # another project's closes nobody
        await say(erin, "still here")
        for client in (erin, alice):
            assert (await next_message(client))["text"] == "still here"

        await sync_to_async(restrict)("g18", "FAE")

        assert (await closed_with_reason(erin))["code"] == "access_lost"
        await say(alice, "only FAE now")
        assert (await next_message(alice))["text"] == "only FAE now"
        assert await erin.receive_nothing(timeout=0.5)
        await alice.disconnect()

    async def test_a_message_is_not_delivered_to_an_outsider_whose_push_was_lost(
        self, people, monkeypatch
    ):
        without_pushes(monkeypatch)
        alice = await connected(room_path(people["incident"]), people["alice"])
        erin = await connected(room_path(people["incident"]), people["erin"])
        await erin.send_json_to({"type": "resume", "after": 0})
        assert await silent(erin) == []

        await sync_to_async(restrict)("G18", "FAE")
        await say(alice, "confidential")

        assert (await next_message(alice))["text"] == "confidential"
        assert (await closed_with_reason(erin))["code"] == "access_lost"
        await alice.disconnect()


def device_path(device) -> str:
    return f"/ws/devices/{device.pk}/"


async def still_hear_the_device(device, *clients) -> None:
    """The pages are open: a move of their device reaches each of them."""
    await sync_to_async(broadcast.device_event)(
        device.pk, broadcast.DEVICE_MOVED, {"device": device.pk}
    )
    for client in clients:
        frame = json.loads(await client.receive_from(timeout=5))
        assert (frame["type"], frame["event"], frame["device"]) == (
            "event",
            "device.moved",
            device.pk,
        )


def withdraw_from_staff(codename: str) -> None:
    staff = Group.objects.get(name=Role.STAFF)
    staff.permissions.remove(*staff.permissions.filter(codename=codename))


class DevicePageTests:
    """A device's live page closes as soon as its person may no longer see the device, not at
    the device's next move."""

    async def test_a_deactivated_persons_device_page_is_closed_at_once(self, people):
        device = people["incident"].device
        alice = await connected(device_path(device), people["alice"])
        bob = await connected(device_path(device), people["bob"])

        await sync_to_async(employee_deactivate)(employee=people["alice"], by=people["admin"])

        reason = await closed_with_reason(alice)
        assert (reason["type"], reason["code"]) == ("error", "account_inactive")
        assert "deactivated" in reason["message"]
        await still_hear_the_device(device, bob)
        assert await alice.receive_nothing(timeout=0.5)
        await bob.disconnect()

    async def test_losing_the_capability_closes_the_device_page(self, people):
        device = people["incident"].device
        alice = await connected(device_path(device), people["alice"])
        admin = await connected(device_path(device), people["admin"])

        await sync_to_async(withdraw_from_staff)("view_device")

        assert (await closed_with_reason(alice))["code"] == "access_lost"
        await still_hear_the_device(device, admin)
        await admin.disconnect()

    async def test_restricting_the_devices_project_closes_outsiders_pages_and_keeps_insiders(
        self, people
    ):
        device = people["incident"].device
        alice = await connected(device_path(device), people["alice"])
        erin = await connected(device_path(device), people["erin"])
        await sync_to_async(restrict)("OTHER", "FAE")  # another project's closes nobody
        await still_hear_the_device(device, erin, alice)

        await sync_to_async(restrict)("g18", "FAE")  # the device spells it G18

        reason = await closed_with_reason(erin)
        assert (reason["code"], reason["message"]) == (
            "access_lost",
            "You may no longer see this: this connection is closed.",
        )
        await still_hear_the_device(device, alice)
        assert await erin.receive_nothing(timeout=0.5)
        await alice.disconnect()

    async def test_the_reason_is_in_the_persons_language(self, people):
        await sync_to_async(Employee.objects.filter(pk=people["erin"].pk).update)(
            language="zh-hans"
        )
        erin = await connected(device_path(people["incident"].device), people["erin"])

        await sync_to_async(restrict)("G18", "FAE")

        assert (await closed_with_reason(erin))["message"] == "您已无权查看此内容，此连接已关闭。"

    async def test_a_device_put_into_a_restricted_project_closes_outsiders_pages(self, people):
        await sync_to_async(restrict)("SECRET", "FAE")
        device = await sync_to_async(DeviceFactory)(project="G18")
        erin = await connected(device_path(device), people["erin"])
        alice = await connected(device_path(device), people["alice"])

        def move_into_the_restricted_project():
            device.project = "secret"
            device.save()

        await sync_to_async(move_into_the_restricted_project)()

        assert (await closed_with_reason(erin))["code"] == "access_lost"
        await still_hear_the_device(device, alice)
        await alice.disconnect()

    async def test_a_change_made_where_nothing_is_told_is_seen_within_a_beat(
        self, people, monkeypatch
    ):
        from messaging import selectors

        without_pushes(monkeypatch)
        monkeypatch.setattr(selectors, "PRESENCE_BEAT", 0.3)
        erin = await connected(device_path(people["incident"].device), people["erin"])

        await sync_to_async(restrict)("G18", "FAE")

        assert (await closed_with_reason(erin, timeout=3))["code"] == "access_lost"


class DashboardTests:
    """The dashboard's socket closes as soon as its person may no longer see incidents; a
    restriction makes open dashboards count again what their readers may see."""

    async def test_losing_the_capability_closes_the_dashboard(self, people):
        alice = await connected("/ws/dashboard/", people["alice"])
        admin = await connected("/ws/dashboard/", people["admin"])

        await sync_to_async(withdraw_from_staff)("view_incident")

        assert (await closed_with_reason(alice))["code"] == "access_lost"
        await sync_to_async(broadcast.dashboard_event)()
        frame = json.loads(await admin.receive_from(timeout=5))
        assert frame == {"type": "event", "event": "incidents.changed"}
        await admin.disconnect()

    async def test_losing_the_role_closes_the_dashboard(self, people):
        alice = await connected("/ws/dashboard/", people["alice"])

        await sync_to_async(people["alice"].groups.clear)()

        assert (await closed_with_reason(alice))["code"] == "access_lost"

    async def test_a_restriction_makes_open_dashboards_count_again_and_keeps_them_open(
        self, people
    ):
        erin = await connected("/ws/dashboard/", people["erin"])

        await sync_to_async(restrict)("G18", "FAE")

        frame = json.loads(await erin.receive_from(timeout=5))
        assert frame == {"type": "event", "event": "incidents.changed"}
        # The restriction and whom it names were told apart: each says count again, and
        # nothing closes the socket.
        assert {json.dumps(f) for f in await silent(erin)} <= {json.dumps(frame)}
        assert await erin.receive_nothing(timeout=0.5)
        await erin.disconnect()

    async def test_a_change_made_where_nothing_is_told_is_seen_within_a_beat(
        self, people, monkeypatch
    ):
        from messaging import selectors

        without_pushes(monkeypatch)
        monkeypatch.setattr(selectors, "PRESENCE_BEAT", 0.3)
        alice = await connected("/ws/dashboard/", people["alice"])

        # A bulk write: no signal, no stamp, no push.
        await sync_to_async(Employee.objects.filter(pk=people["alice"].pk).update)(is_active=False)

        assert (await closed_with_reason(alice, timeout=3))["code"] == "account_inactive"


def _send(people, text):
    room = services.room_for(incident=people["incident"])
    services.message_send(room=room, author=people["bob"], text=text, client_id=uuid.uuid4())


class CheapTests:
    async def test_a_message_to_many_open_pages_reads_the_stamps_together(
        self, people, monkeypatch
    ):
        from messaging import rights

        readers = await sync_to_async(
            lambda: [StaffFactory(department=people["alice"].department) for _ in range(8)]
        )()
        sockets = [await connected(room_path(people["incident"]), person) for person in readers]
        for socket in sockets:
            await socket.send_json_to({"type": "resume", "after": 0})
        for socket in sockets:
            await silent(socket, seconds=0.3)
        reads, real = [], rights.stamps
        monkeypatch.setattr(rights, "stamps", lambda ids: reads.append(len(ids)) or real(ids))

        await sync_to_async(_send)(people, "to everyone")

        for socket in sockets:
            assert (await next_message(socket))["text"] == "to everyone"
        assert sum(reads) == len(sockets)  # each socket checked once...
        assert len(reads) < len(sockets)  # ...in fewer reads than sockets
        for socket in sockets:
            await socket.disconnect()
