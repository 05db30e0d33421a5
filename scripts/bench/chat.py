"""Section `chat`: two uvicorn processes on Redis, rooms of 50 and 200 clients spread over both,
a few senders taking turns; every member counts what it receives (lost, duplicated) and when
(latency from the send frame), beside a raw Redis PUBLISH -> subscriber round trip measured in
the same run."""

import os
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from scripts.bench.figures import figure, percentile

CHAT_SIZES = (50, 200)
CHAT_SENDERS = int(os.environ.get("BENCH_CHAT_SENDERS", "5"))
CHAT_MESSAGES = int(os.environ.get("BENCH_CHAT_MESSAGES", "40"))  # per sender
CHAT_RATE = float(os.environ.get("BENCH_CHAT_RATE", "4"))  # messages a second, per sender
CHAT_RAW_ROUND_TRIPS = 2000
# The consumers' flood limit would refuse the senders' pace: the bench processes lift it.
CHAT_LIMITS = {"CHAT_BURST": 100_000, "CHAT_RATE_PER_SECOND": 100_000}


def _chat_room_with_people(count: int, tag: str) -> tuple[str, list[str]]:
    """An incident's room and `count` staff who may read it, each logged in once (users and
    sessions made in bulk): the room's socket path and the session keys.

    The room's group is emptied in Redis first: room ids start again with each test database,
    and channels of processes that were killed stay in a group for a day."""
    from datetime import timedelta

    import redis
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from incidents.choices import Role
    from incidents.models import Employee
    from incidents.services import incident_open
    from incidents.services.people import employee_build
    from locations.models import Device
    from messaging.broadcast import room_group
    from messaging.services import room_for

    people = Employee.objects.bulk_create(
        [
            employee_build(
                employee_number=f"C{tag}{n:04d}",
                username=f"chat-{tag}-{n}",
                display_name=f"Chat {tag} {n}",
            )
            for n in range(count)
        ]
    )
    staff = Group.objects.get(name=Role.STAFF)
    Employee.groups.through.objects.bulk_create(
        [Employee.groups.through(employee_id=person.pk, group=staff) for person in people]
    )
    store, expires = SessionStore(), timezone.now() + timedelta(hours=1)
    sessions = Session.objects.bulk_create(
        [
            Session(
                session_key=get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789"),
                session_data=store.encode(
                    {
                        SESSION_KEY: str(person.pk),
                        BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
                        HASH_SESSION_KEY: person.get_session_auth_hash(),
                    }
                ),
                expire_date=expires,
            )
            for person in people
        ]
    )
    device = Device.objects.create(serial_number=f"CHAT-BENCH-{tag}")
    incident = incident_open(device=device, reporter=people[0])
    room = room_for(incident=incident)
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(f"asgi:group:{room_group(room.pk)}")
    client.close()
    return f"/ws/rooms/incident/{incident.pk}/", [session.session_key for session in sessions]


async def _raw_redis_round_trips(url: str, count: int) -> list[float]:
    """PUBLISH -> subscriber with redis-py asyncio, one at a time: seconds each."""
    import asyncio
    import uuid

    from redis import asyncio as aioredis

    channel = f"bench-raw-{uuid.uuid4().hex}"
    publisher, subscriber = aioredis.from_url(url), aioredis.from_url(url)
    pubsub = subscriber.pubsub()
    await pubsub.subscribe(channel)
    arrivals: asyncio.Queue[float] = asyncio.Queue()

    async def listen():
        async for message in pubsub.listen():
            if message["type"] == "message":
                arrivals.put_nowait(time.perf_counter())

    listener = asyncio.ensure_future(listen())
    samples = []
    try:
        for _ in range(count):
            start = time.perf_counter()
            await publisher.publish(channel, b"x")
            samples.append(await asyncio.wait_for(arrivals.get(), 5) - start)
    finally:
        listener.cancel()
        await pubsub.aclose()
        await publisher.aclose()
        await subscriber.aclose()
    return samples


async def _chat_round(servers, path: str, sessions: list[str]) -> dict:
    """Clients spread over `servers`, senders sending at their pace, every arrival counted."""
    import asyncio
    import uuid

    from scripts.servers import RoomClient

    clients = [RoomClient(path, session, f"c{n}") for n, session in enumerate(sessions)]
    gate = asyncio.Semaphore(20)

    async def connect(n: int, client: RoomClient) -> None:
        async with gate:
            await client.connect(servers[n % len(servers)])

    started = time.perf_counter()
    await asyncio.gather(*(connect(n, client) for n, client in enumerate(clients)))
    connected = time.perf_counter() - started
    # Each arrival tells the room who is online: wait until that has calmed down.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if time.monotonic() - max(client.last_frame_at for client in clients) > 1:
            break
        await asyncio.sleep(0.1)
    settled = time.perf_counter() - started

    sent: dict[str, float] = {}

    async def send(k: int, client: RoomClient) -> None:
        # The senders take turns, evenly spaced, rather than all at the same instant.
        start = begin + k / (CHAT_RATE * CHAT_SENDERS)
        for m in range(CHAT_MESSAGES):
            await asyncio.sleep(max(0.0, start + m / CHAT_RATE - time.perf_counter()))
            client_id = str(uuid.uuid4())
            sent[client_id] = time.perf_counter()
            await client.send(f"{client.name} {m}", client_id)

    senders = clients[:CHAT_SENDERS]  # alternate between the processes, as all clients do
    begin = time.perf_counter()
    await asyncio.gather(*(send(k, client) for k, client in enumerate(senders)))
    total = len(senders) * CHAT_MESSAGES
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(len(c.arrivals) < total for c in clients):
        await asyncio.sleep(0.05)
    arrived = [t for client in clients for t in client.arrivals.values()]
    seconds = (max(arrived) if arrived else time.perf_counter()) - begin
    await asyncio.sleep(0.5)  # a duplicate would come late

    lost = duplicated = 0
    latencies = []
    for client in clients:
        mine = [frame for frame in client.received if frame["client_id"] in sent]
        unique = {frame["client_id"] for frame in mine}
        lost += total - len(unique)
        duplicated += len(mine) - len(unique)
        latencies += [client.arrivals[key] - sent[key] for key in unique]
    firsts = [
        min(client.arrivals[key] for client in clients if key in client.arrivals) - at
        for key, at in sent.items()
        if any(key in client.arrivals for client in clients)
    ]
    errors = sum(len(client.errors) for client in clients)
    await asyncio.gather(*(client.close() for client in clients))
    await asyncio.sleep(2)  # the servers see everyone leave before anything else is measured
    return {
        "connected": connected,
        "settled": settled,
        "total": total,
        "deliveries": total * len(clients),
        "lost": lost,
        "duplicated": duplicated,
        "errors": errors,
        "latencies": latencies,
        "firsts": firsts,
        "seconds": seconds,
    }


def run() -> None:
    """Two uvicorn processes on Redis, rooms of 50 and 200 clients spread over both: each
    message counted at every member, its delivery latency, beside a raw Redis PUBLISH ->
    subscriber round trip measured in the same run."""
    import asyncio
    import gc
    import tempfile

    from scripts.servers import app_servers, database_url, server_environment

    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        print("Chat delivery: skipped (needs DATABASE_URL on PostgreSQL and REDIS_URL)")
        return
    rooms = {size: _chat_room_with_people(size, str(size)) for size in CHAT_SIZES}
    log_dir = Path(tempfile.mkdtemp(prefix="bench-chat-"))
    env = server_environment(
        database_url=database_url(connection.settings_dict),
        redis_url=settings.REDIS_URL,
        data_dir=log_dir,
        **CHAT_LIMITS,
    )
    limits = ", ".join(f"{key}={value}" for key, value in CHAT_LIMITS.items())
    print(
        f"Chat delivery (PostgreSQL + Redis, 2 uvicorn processes, "
        f"{settings.CHANNEL_LAYERS['default']['BACKEND'].rsplit('.', 1)[-1]}; "
        f"{CHAT_SENDERS} senders x {CHAT_MESSAGES} messages at {CHAT_RATE:g}/s each, "
        "taking turns):"
    )
    print(f"  the processes run with {limits} (the consumers' flood limit, lifted)")
    print(
        "  latency: from the sender's send frame to the message frame at a member's socket "
        "(one clock: every client is in this process)"
    )

    def line(label: str, values: list[float], raw: list[float]) -> str:
        p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
        raw_p50, raw_p99 = percentile(raw, 0.5) * 1000, percentile(raw, 0.99) * 1000
        return (
            f"    {label:<14} p50 {p50:8.2f} ms  p99 {p99:8.2f} ms   "
            f"ratio to raw: p50 {p50 / raw_p50:6.0f}x  p99 {p99 / raw_p99:5.0f}x"
        )

    with app_servers(
        2, env=env, log_dir=log_dir, extra_args=("--no-access-log", "--log-level", "warning")
    ) as servers:
        for size, (path, sessions) in rooms.items():
            raw = asyncio.run(_raw_redis_round_trips(settings.REDIS_URL, CHAT_RAW_ROUND_TRIPS))
            # The clients' own garbage collection would count as delivery time: none in a round.
            gc.collect()
            gc.freeze()
            gc.disable()
            try:
                result = asyncio.run(_chat_round(servers, path, sessions))
            finally:
                gc.enable()
                gc.unfreeze()
            print(
                f"  {size} clients, half on each process: connected in "
                f"{result['connected']:.1f} s, quiet after {result['settled']:.1f} s "
                "(each arrival tells the room who is online)"
            )
            print(
                f"    delivered {result['deliveries'] - result['lost']} of "
                f"{result['deliveries']}: lost {result['lost']}, duplicated "
                f"{result['duplicated']} (goal: 0 and 0), error frames {result['errors']}"
            )
            print(
                f"    raw Redis      p50 {percentile(raw, 0.5) * 1000:8.2f} ms  "
                f"p99 {percentile(raw, 0.99) * 1000:8.2f} ms   (PUBLISH -> subscriber, "
                f"redis-py asyncio, {len(raw)} round trips just before)"
            )
            figure("chat", f"{size} clients: messages lost", result["lost"], "", goal="0")
            figure("chat", f"{size} clients: duplicated", result["duplicated"], "", goal="0")
            if result["latencies"]:
                figure(
                    "chat",
                    f"{size} clients: every member p99",
                    percentile(result["latencies"], 0.99) * 1000,
                    "ms",
                    percentile(raw, 0.99) * 1000,
                    "raw Redis p99",
                    "at most 5x",
                )
                print(line("every member", result["latencies"], raw))
                print(line("first member", result["firsts"], raw))
            if size == max(CHAT_SIZES):
                print("    (goal: every member's p99 at most 5x the raw p99)")
            print(
                f"    {result['total'] / result['seconds']:.1f} messages/s, "
                f"{result['deliveries'] / result['seconds']:.0f} deliveries/s "
                f"({result['seconds']:.1f} s from the first send to the last arrival)"
            )
    print(f"  server logs: {log_dir}")
