"""The chat's WebSocket end through the real ASGI application (auth, origin check, routing),
on the channel layer the settings choose: Redis when REDIS_URL is set, as in `make test`."""

import json
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from incidents.models import Department
from messaging import services
from messaging.models import Message
from tests.factories import EmployeeFactory, IncidentFactory, StaffFactory
from tests.messaging.conftest import communicator

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    # Every test on the in-memory layer (embedded) and on real Redis (production).
    pytest.mark.usefixtures("each_layer"),
]


def room_path(incident) -> str:
    return f"/ws/rooms/incident/{incident.pk}/"


async def connected(path, user) -> WebsocketCommunicator:
    client = await sync_to_async(communicator)(path, user)
    accepted, code = await client.connect(timeout=5)
    assert accepted, code
    return client


async def frames_until(client, predicate, timeout=5.0) -> list[dict]:
    """Frames received until one satisfies `predicate` (that one included)."""
    frames = []
    while True:
        frame = json.loads(await client.receive_from(timeout=timeout))
        frames.append(frame)
        if predicate(frame):
            return frames


async def next_message(client, timeout=5.0) -> dict:
    frames = await frames_until(client, lambda f: f["type"] in ("message", "error"), timeout)
    return frames[-1]


async def silent(client, seconds=0.5) -> list[dict]:
    """Frames other than presence that arrive within `seconds`."""
    got = []
    while not await client.receive_nothing(timeout=seconds):
        # Something is waiting: a long timeout never fires (a timeout would cancel the app).
        frame = json.loads(await client.receive_from(timeout=5))
        if frame["type"] != "presence":
            got.append(frame)
    return got


@pytest.fixture
def people(db):
    department = Department.objects.get(code="FAE")
    return {
        "incident": IncidentFactory(),
        "alice": StaffFactory(department=department, display_name="Alice"),
        "bob": StaffFactory(department=department, display_name="Bob"),
        "nobody": EmployeeFactory(roles=()),  # no role: may not see incidents
    }


class ConnectTests:
    async def test_anonymous_is_refused_before_accept(self, people):
        client = await sync_to_async(communicator)(room_path(people["incident"]))

        accepted, code = await client.connect(timeout=5)

        assert not accepted
        assert code == 4403

    async def test_someone_who_may_not_see_the_incident_is_refused(self, people):
        client = await sync_to_async(communicator)(room_path(people["incident"]), people["nobody"])

        accepted, code = await client.connect(timeout=5)

        assert not accepted
        assert code == 4403

    async def test_a_room_of_an_incident_that_does_not_exist_is_refused(self, people):
        client = await sync_to_async(communicator)("/ws/rooms/incident/999999/", people["alice"])

        accepted, _code = await client.connect(timeout=5)

        assert not accepted

    async def test_a_foreign_origin_is_refused(self, people):
        client = await sync_to_async(communicator)(
            room_path(people["incident"]), people["alice"], (b"origin", b"http://evil.example")
        )

        accepted, _code = await client.connect(timeout=5)

        assert not accepted


class SendAndReceiveTests:
    async def test_a_message_reaches_everyone_in_the_room_once(self, people):
        alice = await connected(room_path(people["incident"]), people["alice"])
        bob = await connected(room_path(people["incident"]), people["bob"])
        client_id = str(uuid.uuid4())

        await alice.send_json_to({"type": "send", "client_id": client_id, "text": "看一下焊点\nok"})

        for client in (alice, bob):
            frame = await next_message(client)
            assert frame["type"] == "message"
            assert frame["text"] == "看一下焊点\nok"
            assert frame["client_id"] == client_id
            assert frame["author"] == {
                "id": people["alice"].pk,
                "name": "Alice",
                "department": "FAE",
                "department_id": people["alice"].department_id,
            }
            assert frame["created_at"]
            assert await silent(client) == []
        await alice.disconnect()
        await bob.disconnect()

    async def test_the_same_client_id_twice_stores_one_message(self, people):
        alice = await connected(room_path(people["incident"]), people["alice"])
        bob = await connected(room_path(people["incident"]), people["bob"])
        frame = {"type": "send", "client_id": str(uuid.uuid4()), "text": "once"}

        await alice.send_json_to(frame)
        first = await next_message(alice)
        await alice.send_json_to(frame)
        again = await silent(alice)

        assert await sync_to_async(Message.objects.count)() == 1
        assert again == []  # the connection had it already
        assert (await next_message(bob))["id"] == first["id"]
        assert await silent(bob) == []
        await alice.disconnect()
        await bob.disconnect()

    async def test_the_frame_announced_is_the_message_as_stored(self, people):
        """The frame is made while the message is written, not read back after: it is the
        same as the one a reader gets from the database, reply and mention included."""
        from messaging.selectors import message_frame

        bob = await connected(room_path(people["incident"]), people["bob"])
        await bob.send_json_to({"type": "resume", "after": 0})
        await sync_to_async(_send)(people, "quoted")
        quoted = await next_message(bob)
        room = await sync_to_async(services.room_for)(incident=people["incident"])
        await sync_to_async(services.message_send)(
            room=room,
            author=people["alice"],
            text="see above",
            client_id=uuid.uuid4(),
            reply_to=quoted["id"],
            mentions=[people["bob"].pk],
        )

        live = await next_message(bob)
        stored = await sync_to_async(
            lambda: json.loads(json.dumps(message_frame(Message.objects.get(pk=live["id"]))))
        )()
        assert live == stored
        assert live["reply_to"]["id"] == quoted["id"] and live["mentions"] == [people["bob"].pk]
        await bob.disconnect()

    async def test_ids_only_grow_and_each_knows_the_one_before(self, people):
        alice = await connected(room_path(people["incident"]), people["alice"])

        ids = []
        for n in range(3):
            await alice.send_json_to(
                {"type": "send", "client_id": str(uuid.uuid4()), "text": f"{n}"}
            )
            frame = await next_message(alice)
            ids.append((frame["id"], frame["prev_id"]))

        assert [i for i, _p in ids] == sorted(i for i, _p in ids)
        assert [p for _i, p in ids] == [None, ids[0][0], ids[1][0]]
        await alice.disconnect()


class ResumeTests:
    async def test_a_reconnecting_client_gets_exactly_what_it_missed_once(self, people):
        path = room_path(people["incident"])
        alice = await connected(path, people["alice"])
        bob = await connected(path, people["bob"])
        await alice.send_json_to({"type": "send", "client_id": str(uuid.uuid4()), "text": "one"})
        last_seen = (await next_message(bob))["id"]
        await bob.disconnect()

        for text in ("two", "three"):
            await alice.send_json_to({"type": "send", "client_id": str(uuid.uuid4()), "text": text})
            await next_message(alice)
        bob = await connected(path, people["bob"])
        await bob.send_json_to({"type": "resume", "after": last_seen})

        got = [await next_message(bob), await next_message(bob)]
        assert [frame["text"] for frame in got] == ["two", "three"]
        assert await silent(bob) == []
        await alice.disconnect()
        await bob.disconnect()

    async def test_a_dropped_announcement_is_read_from_the_database(self, people, monkeypatch):
        path = room_path(people["incident"])
        bob = await connected(path, people["bob"])
        await bob.send_json_to({"type": "resume", "after": 0})
        room = await sync_to_async(lambda: Message.objects.none() or None)()

        # The channel layer loses the first announcement (as channels-redis does when a
        # channel is over capacity); the second one shows the gap behind it.
        from messaging import broadcast

        real = broadcast.message_created
        dropped = []
        monkeypatch.setattr(broadcast, "message_created", lambda mid, **_: dropped.append(mid))
        await sync_to_async(_send)(people, "lost on the wire")
        monkeypatch.setattr(broadcast, "message_created", real)
        await sync_to_async(_send)(people, "announced")

        got = [await next_message(bob), await next_message(bob)]
        assert [frame["text"] for frame in got] == ["lost on the wire", "announced"]
        assert dropped and room is None
        await bob.disconnect()

    async def test_a_gap_check_that_finds_the_channel_full_is_asked_again(
        self, people, monkeypatch
    ):
        """A connection that is behind has a full channel: its gap check is not dropped (the
        messages held would wait for the next beat), it is asked again."""
        from channels.exceptions import ChannelFull
        from channels.layers import get_channel_layer

        from messaging import broadcast

        bob = await connected(room_path(people["incident"]), people["bob"])
        await bob.send_json_to({"type": "resume", "after": 0})
        assert await silent(bob) == []  # the resume is taken before anything is sent
        layer = get_channel_layer()
        real_send, refused = layer.send, []

        async def full_once(channel, message):
            if message.get("type") == "chat.gap" and not refused:
                refused.append(channel)
                raise ChannelFull()
            return await real_send(channel, message)

        monkeypatch.setattr(layer, "send", full_once)
        real = broadcast.message_created
        monkeypatch.setattr(broadcast, "message_created", lambda mid, **_: None)
        await sync_to_async(_send)(people, "lost on the wire")
        monkeypatch.setattr(broadcast, "message_created", real)
        await sync_to_async(_send)(people, "announced")

        got = [await next_message(bob), await next_message(bob)]
        assert [frame["text"] for frame in got] == ["lost on the wire", "announced"]
        assert refused
        await bob.disconnect()

    async def test_a_message_that_arrives_before_the_resume_is_not_sent_again(self, people):
        """The socket subscribes before the client's resume frame arrives: whatever comes live
        in between is part of what the client has."""
        path = room_path(people["incident"])
        await sync_to_async(_send)(people, "seen before")
        seen = await sync_to_async(Message.objects.get)(text="seen before")
        bob = await connected(path, people["bob"])

        await sync_to_async(_send)(people, "live before the resume")
        assert (await next_message(bob))["text"] == "live before the resume"
        await bob.send_json_to({"type": "resume", "after": seen.pk})
        await sync_to_async(_send)(people, "after the resume")

        assert (await next_message(bob))["text"] == "after the resume"
        assert await silent(bob) == []
        await bob.disconnect()

    async def test_what_was_missed_before_a_live_message_is_sent_once_on_resume(self, people):
        path = room_path(people["incident"])
        await sync_to_async(_send)(people, "seen before")
        seen = await sync_to_async(Message.objects.get)(text="seen before")
        await sync_to_async(_send)(people, "missed while away")
        bob = await connected(path, people["bob"])

        await sync_to_async(_send)(people, "live before the resume")
        assert (await next_message(bob))["text"] == "live before the resume"
        await bob.send_json_to({"type": "resume", "after": seen.pk})
        await sync_to_async(_send)(people, "after the resume")

        got = [await next_message(bob), await next_message(bob)]
        assert [frame["text"] for frame in got] == ["missed while away", "after the resume"]
        assert await silent(bob) == []
        await bob.disconnect()

    async def test_a_message_that_overtakes_the_one_before_it_waits_for_it(
        self, people, monkeypatch
    ):
        """Two processes announce independently: the later message may come first. It waits
        for the earlier one instead of sending every connection to the database."""
        from messaging import broadcast, consumers
        from messaging.consumers import RoomConsumer

        # Long enough for the earlier announcement to arrive on a busy machine: the question
        # is whether the connection waits, not how long.
        monkeypatch.setattr(consumers, "GAP_WAIT_SECONDS", 5)
        path = room_path(people["incident"])
        await sync_to_async(_send)(people, "seen before")
        seen = await sync_to_async(Message.objects.get)(text="seen before")
        bob = await connected(path, people["bob"])
        await bob.send_json_to({"type": "resume", "after": seen.pk})
        assert await silent(bob) == []
        reads = []
        real_frames_after = RoomConsumer.__dict__["frames_after"]

        async def counted(consumer, after):
            reads.append(after)
            return await real_frames_after(consumer, after)

        monkeypatch.setattr(RoomConsumer, "frames_after", counted)
        real, held_back = broadcast.message_created, []
        monkeypatch.setattr(broadcast, "message_created", lambda mid, **_: held_back.append(mid))
        await sync_to_async(_send)(people, "first")
        await sync_to_async(_send)(people, "second")

        await sync_to_async(real)(held_back[1])
        await sync_to_async(real)(held_back[0])

        got = [await next_message(bob), await next_message(bob)]
        assert [frame["text"] for frame in got] == ["first", "second"]
        assert reads == []
        assert await silent(bob, seconds=0.7) == []
        await bob.disconnect()

    async def test_a_lost_announcement_of_the_latest_message_is_caught_up_by_the_beat(
        self, people, monkeypatch
    ):
        """No later message shows the gap behind the last one: the connection's beat does."""
        from messaging import broadcast, selectors

        monkeypatch.setattr(selectors, "PRESENCE_BEAT", 0.3)
        bob = await connected(room_path(people["incident"]), people["bob"])
        await bob.send_json_to({"type": "resume", "after": 0})
        assert await silent(bob) == []
        monkeypatch.setattr(broadcast, "message_created", lambda message_id, **_: None)

        await sync_to_async(_send)(people, "never announced")

        assert (await next_message(bob, timeout=3))["text"] == "never announced"
        assert await silent(bob, seconds=0.7) == []
        await bob.disconnect()


def _send(people, text):
    room = services.room_for(incident=people["incident"])
    services.message_send(room=room, author=people["alice"], text=text, client_id=uuid.uuid4())


# Fixed, not drawn: each parallel worker must collect the same test ids.
BLANK_ID = "0b1d6c4e-2f5a-4c8e-9a3d-7e6f5a4b3c2d"


MALFORMED = [
    ("not json", "bad_frame"),
    ("[1, 2]", "bad_frame"),
    ('{"no": "type"}', "bad_frame"),
    ('{"type": "teleport"}', "unknown_type"),
    ('{"type": "send", "text": 5, "client_id": "x"}', "bad_frame"),
    ('{"type": "send", "text": "hi", "client_id": "not-a-uuid"}', "bad_client_id"),
    (json.dumps({"type": "send", "text": "   ", "client_id": BLANK_ID}), "empty"),
    ('{"type": "resume", "after": "x"}', "bad_frame"),
]


class BadFrameTests:
    async def test_each_malformed_frame_gets_an_error_and_the_connection_lives(self, people):
        """One connection takes every malformed frame in turn: each gets its error, and the
        connection still carries a message after each."""
        alice = await connected(room_path(people["incident"]), people["alice"])

        for raw, code in MALFORMED:
            await alice.send_to(text_data=raw)
            error = await next_message(alice)
            text = f"still, after {code}"
            await alice.send_json_to({"type": "send", "client_id": str(uuid.uuid4()), "text": text})

            assert error["type"] == "error" and error["code"] == code and error["message"], raw
            assert (await next_message(alice))["text"] == text, raw
        await alice.disconnect()

    async def test_a_huge_frame_is_refused_without_being_read(self, people):
        alice = await connected(room_path(people["incident"]), people["alice"])

        await alice.send_to(text_data=json.dumps({"type": "send", "text": "x" * 200_000}))

        assert (await next_message(alice))["code"] == "too_large"
        await alice.disconnect()

    async def test_a_message_over_the_size_limit_is_refused_with_a_message(self, people):
        alice = await connected(room_path(people["incident"]), people["alice"])

        with override_settings(CHAT_MESSAGE_MAX_CHARS=10):
            await alice.send_json_to(
                {"type": "send", "client_id": str(uuid.uuid4()), "text": "x" * 11}
            )
            error = await next_message(alice)

        assert error["code"] == "too_long"
        assert "at most 10 characters" in error["message"]
        await alice.disconnect()


class FloodTests:
    async def test_a_flooding_client_is_slowed_and_told(self, people):
        alice = await connected(room_path(people["incident"]), people["alice"])

        with override_settings(CHAT_BURST=3, CHAT_RATE_PER_SECOND=0.001):
            # The bucket is made on connect: reconnect under the small limits.
            await alice.disconnect()
            alice = await connected(room_path(people["incident"]), people["alice"])
            for n in range(5):
                await alice.send_json_to(
                    {"type": "send", "client_id": str(uuid.uuid4()), "text": f"{n}"}
                )
            frames = [await next_message(alice) for _ in range(5)]

        assert [f["type"] for f in frames].count("message") == 3
        assert [f.get("code") for f in frames if f["type"] == "error"] == ["rate_limited"] * 2
        assert await sync_to_async(Message.objects.count)() == 3
        await alice.disconnect()
