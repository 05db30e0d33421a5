"""The chat across real processes: uvicorn servers sharing rooms through Redis, clients on real
sockets. Whatever drops in between (a client's connection, a server process, Redis itself), a
client that reconnects and resumes from its last id has every message exactly once, with none
missing between them; and whoever was connected through a process that died shows offline on
the other pages within seconds."""

import asyncio
import itertools
import time
import uuid

import pytest
import pytest_asyncio
import websockets
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection

from incidents.models import Department
from messaging.models import Message
from scripts.servers import (
    RedisServer,
    RoomClient,
    app_servers,
    database_url,
    http_get,
    http_send,
    server_environment,
)
from tests.factories import IncidentFactory, StaffFactory
from tests.messaging.conftest import session_cookie

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not settings.REDIS_URL,
        reason="app processes share the test database (PostgreSQL) and rooms (REDIS_URL)",
    ),
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.timeout(120),
]


def environment(tmp_path, redis_url: str) -> dict:
    return server_environment(
        database_url=database_url(connection.settings_dict),
        redis_url=redis_url,
        data_dir=tmp_path,
    )


def other_sessions() -> int:
    """Database sessions of other processes (this one's own threads keep theirs open)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
            "AND application_name <> %s",
            [connection.settings_dict["OPTIONS"]["application_name"]],
        )
        return cursor.fetchone()[0]


@pytest.fixture(scope="module", autouse=True)
def sessions_of_the_servers_end(django_db_setup, django_db_blocker):
    """A stopped server's database sessions end a moment after it: wait for them, or the
    test database cannot be dropped at the end of the run."""
    yield
    with django_db_blocker.unblock():
        deadline = time.monotonic() + 10
        while other_sessions() and time.monotonic() < deadline:
            time.sleep(0.1)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Two app processes on the suite's Redis, shared by the tests that leave them running."""
    log_dir = tmp_path_factory.mktemp("servers")
    with app_servers(2, env=environment(log_dir, settings.REDIS_URL), log_dir=log_dir) as both:
        yield both


@pytest.fixture
def people(transactional_db):
    department = Department.objects.get(code="FAE")
    incident = IncidentFactory()
    alice = StaffFactory(department=department, display_name="Alice")
    bob = StaffFactory(department=department, display_name="Bob")
    return {
        "incident": incident,
        "subject": f"incident/{incident.pk}",
        "path": f"/ws/rooms/incident/{incident.pk}/",
        "alice": session_cookie(alice),
        "bob": session_cookie(bob),
    }


@pytest_asyncio.fixture
async def clients(people):
    """Room clients made by name, all closed before the test's data is removed."""
    made = []

    def make(name: str) -> RoomClient:
        client = RoomClient(people["path"], people[name], name)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()
    await asyncio.sleep(0.3)  # the servers finish their disconnects before the data goes


def assert_each_once(client: RoomClient, texts: list[str]) -> None:
    """Every text exactly once, and nothing missing between them: placed by id, as the page
    shows them, each message follows the one before it in the room."""
    ids = [frame["id"] for frame in client.received]
    assert len(ids) == len(set(ids)), f"{client.name} got duplicates: {client.texts}"
    assert sorted(client.texts) == sorted(texts), client.texts
    shown = sorted(client.received, key=lambda frame: frame["id"])
    for before, frame in itertools.pairwise(shown):
        assert frame["prev_id"] == before["id"], f"{client.name} misses one: {client.texts}"


def assert_once_in_order(client: RoomClient, texts: list[str]) -> None:
    """Every text exactly once, arrived in the room's order."""
    assert_each_once(client, texts)
    ids = [frame["id"] for frame in client.received]
    assert ids == sorted(ids), f"{client.name} got them out of order: {client.texts}"


@database_sync_to_async  # closes its connection: the test database is dropped at the end
def stored_texts() -> list[str]:
    return list(Message.objects.order_by("id").values_list("text", flat=True))


class CrossProcessTests:
    async def test_messages_cross_between_two_processes_in_both_directions(self, servers, clients):
        alice, bob = clients("alice"), clients("bob")
        await alice.connect(servers[0])
        await bob.connect(servers[1])

        sent = []
        for n in range(5):
            await alice.send(f"alice {n}")
            await bob.send(f"bob {n}")
            sent += [f"alice {n}", f"bob {n}"]
        for client in (alice, bob):
            await client.wait_for_texts(len(sent))
        await alice.quiet()

        for client in (alice, bob):
            assert_once_in_order(client, sent)
        assert [f["id"] for f in alice.received] == [f["id"] for f in bob.received]
        assert await stored_texts() == alice.texts
        for name in ("alice", "bob"):  # each sender's own order is kept
            mine = [text for text in alice.texts if text.startswith(name)]
            assert mine == [f"{name} {n}" for n in range(5)]

    async def test_a_client_that_reconnects_gets_exactly_what_it_missed_once(
        self, servers, clients
    ):
        alice, bob = clients("alice"), clients("bob")
        await alice.connect(servers[0])
        await bob.connect(servers[1])
        await alice.send("before")
        await bob.wait_for_texts(1)
        await bob.close()

        for text in ("missed 1", "missed 2", "missed 3"):
            await alice.send(text)
        await alice.wait_for_texts(4)
        await bob.connect(servers[0])  # the other process this time
        await bob.wait_for_texts(4)
        await alice.send("after")
        await bob.wait_for_texts(5)
        await bob.quiet()

        assert bob.texts == ["before", "missed 1", "missed 2", "missed 3", "after"]
        assert_once_in_order(bob, bob.texts)

    async def test_a_quiet_socket_outlives_the_redis_read_timeout(self, servers, clients):
        """redis 8 times reads out after 5 s by default; a quiet room must stay connected."""
        alice, bob = clients("alice"), clients("bob")
        await alice.connect(servers[0])
        await bob.connect(servers[1])

        await asyncio.sleep(6.5)
        assert alice.connected and bob.connected
        await alice.send("still here")

        await bob.wait_for_texts(1)
        assert bob.texts == ["still here"]


class ServerKilledTests:
    async def test_clients_of_a_killed_process_resume_on_the_other_and_lose_nothing(
        self, clients, tmp_path
    ):
        env = environment(tmp_path, settings.REDIS_URL)
        alice, bob = clients("alice"), clients("bob")
        with app_servers(2, env=env, log_dir=tmp_path) as (doomed, survivor):
            await alice.connect(doomed)
            await bob.connect(survivor)
            await alice.send("one")
            await bob.wait_for_texts(1)

            # Alice's message leaves as the process dies: stored or not, she cannot tell.
            in_flight = await alice.send("in flight")
            doomed.kill()
            await alice.wait_closed()
            for text in ("while alice was away 1", "while alice was away 2"):
                await bob.send(text)
            await alice.connect_with_retries([doomed, survivor])
            # The page sends what it could not confirm again, with the same client id.
            await alice.send("in flight", client_id=in_flight)
            await bob.send("back")

            expected = [
                "one",
                "in flight",
                "while alice was away 1",
                "while alice was away 2",
                "back",
            ]
            for client in (alice, bob):
                await client.wait_for_texts(len(expected))
            await alice.quiet()

        # Bob never left; Alice's resume may reach back behind a message that was already
        # on its way to her new socket, which the page places by its id.
        assert_once_in_order(bob, expected)
        assert_each_once(alice, expected)
        assert await stored_texts() == bob.texts


class RedisRestartedTests:
    async def test_nothing_is_lost_while_redis_is_down_and_clients_resume_after_it_returns(
        self, people, clients, tmp_path
    ):
        redis = RedisServer(tmp_path)
        redis.start()
        try:
            env = environment(tmp_path, redis.url)
            alice, bob = clients("alice"), clients("bob")
            with app_servers(2, env=env, log_dir=tmp_path) as servers:
                await alice.connect(servers[0])
                await bob.connect(servers[1])
                await alice.send("before")
                await bob.wait_for_texts(1)

                redis.stop()
                # Every socket is closed by its server, so every page reconnects and resumes;
                # until Redis is back no socket can subscribe, so none is accepted.
                await alice.wait_closed()
                await bob.wait_closed()
                with pytest.raises(websockets.InvalidStatus):
                    await alice.connect(servers[0])

                # Pages keep working; readiness says what is missing.
                page = await asyncio.to_thread(
                    http_get,
                    servers[1],
                    f"/admin/incidents/incident/{people['incident'].pk}/change/",
                    people["alice"],
                )
                assert page[0] == 200, page[1][:300]
                ready = await asyncio.to_thread(http_get, servers[1], "/readyz", "")
                assert ready[0] == 503 and '"redis": "unreachable' in ready[1]

                # Sending over HTTP still stores; only the announcement cannot be made.
                status, answer = await asyncio.to_thread(
                    http_send,
                    servers[0],
                    people["subject"],
                    people["alice"],
                    "while down",
                    str(uuid.uuid4()),
                )
                assert status == 200, answer
                assert answer["message"]["text"] == "while down"

                redis.start()
                await alice.connect_with_retries(servers)
                await bob.connect_with_retries(servers[::-1])
                await bob.send("after")

                expected = ["before", "while down", "after"]
                for client in (alice, bob):
                    await client.wait_for_texts(len(expected))
                await alice.quiet()
        finally:
            redis.stop()

        for client in (alice, bob):
            assert_once_in_order(client, expected)
        assert await stored_texts() == expected


class PresenceAfterCrashTests:
    async def test_people_of_a_killed_process_show_offline_on_the_other_s_pages_at_once(
        self, people, clients, tmp_path
    ):
        env = server_environment(
            database_url=database_url(connection.settings_dict),
            redis_url=settings.REDIS_URL,
            data_dir=tmp_path,
            # A beat a second, dead after three: the chat's own presence timeout is 90 s.
            PROCESS_BEAT_SECONDS=1,
            PROCESS_TTL_SECONDS=3,
        )
        alice, bob = clients("alice"), clients("bob")
        with app_servers(2, env=env, log_dir=tmp_path) as (doomed, survivor):
            await alice.connect(doomed)
            await bob.connect(survivor)
            await bob.wait_until(
                lambda: bob.online == {"Alice", "Bob"}, timeout=10, what="both online"
            )

            doomed.kill()
            killed_at = time.monotonic()
            await alice.wait_closed()
            await bob.wait_until(
                lambda: bob.online == {"Bob"}, timeout=15, what="a frame with Alice offline"
            )
            took = time.monotonic() - killed_at
            assert bob.connected

        # Her heartbeat lapses after 3 s and the survivor's next beat tells the room.
        assert took < 3 + 1 + 4, took
        names = {m["name"] for m in bob.presences[-1]["members"]}
        assert "Alice" in names  # still a member of the room, offline
