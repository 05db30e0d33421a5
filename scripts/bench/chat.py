"""Section `chat`: two uvicorn processes on Redis, rooms of 50 and 200 clients spread over both,
a few senders taking turns; every member counts what it receives (lost, duplicated, out of
order) and when (latency from the send frame). The floor, measured in the same run on the same
sockets: the same fan-out sent by the bench straight to the room's group through the channel
layer, nothing stored or read. A raw Redis PUBLISH -> subscriber round trip is shown beside it."""

import itertools
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


def _tally(clients, sent: dict[str, float], total: int) -> dict:
    """What every member received of the messages `sent` (client id -> when it was sent):
    lost, duplicated, out of order (a member given a message before one with a smaller id, the
    order of the room), and each delivery's latency."""
    lost = duplicated = out_of_order = 0
    latencies = []
    for client in clients:
        mine = [frame for frame in client.received if frame["client_id"] in sent]
        unique = {frame["client_id"] for frame in mine}
        lost += total - len(unique)
        duplicated += len(mine) - len(unique)
        ids = [frame["id"] for frame in mine]
        out_of_order += sum(1 for before, after in itertools.pairwise(ids) if after <= before)
        latencies += [client.arrivals[key] - sent[key] for key in unique]
    firsts = [
        min(client.arrivals[key] for client in clients if key in client.arrivals) - at
        for key, at in sent.items()
        if any(key in client.arrivals for client in clients)
    ]
    return {
        "total": total,
        "deliveries": total * len(clients),
        "lost": lost,
        "duplicated": duplicated,
        "out_of_order": out_of_order,
        "latencies": latencies,
        "firsts": firsts,
    }


async def _wait_for_all(clients, before: list[int], sent: dict[str, float], begin: float) -> float:
    """Until every member has every message sent (60 s at most; `before`: how many each had
    already); seconds from the first send to the last arrival. A duplicate would come late:
    half a second more is given to it."""
    import asyncio

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(
        len(client.arrivals) < had + len(sent) for client, had in zip(clients, before, strict=True)
    ):
        await asyncio.sleep(0.05)
    arrived = [client.arrivals[key] for client in clients for key in sent if key in client.arrivals]
    seconds = (max(arrived) if arrived else time.perf_counter()) - begin
    await asyncio.sleep(0.5)
    return seconds


def _paced(k: int, m: int, begin: float) -> float:
    """When sender `k` sends its message `m`: the senders take turns, evenly spaced, rather
    than all at the same instant."""
    return begin + k / (CHAT_RATE * CHAT_SENDERS) + m / CHAT_RATE


async def _chat_round(servers, path: str, sessions: list[str]) -> dict:
    """Clients spread over `servers`, senders sending at their pace, every arrival counted;
    then the floor: the same fan-out to the same sockets straight through the channel layer."""
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
        for m in range(CHAT_MESSAGES):
            await asyncio.sleep(max(0.0, _paced(k, m, begin) - time.perf_counter()))
            client_id = str(uuid.uuid4())
            sent[client_id] = time.perf_counter()
            await client.send(f"{client.name} {m}", client_id)

    senders = clients[:CHAT_SENDERS]  # alternate between the processes, as all clients do
    total = len(senders) * CHAT_MESSAGES
    before = [len(client.arrivals) for client in clients]
    begin = time.perf_counter()
    await asyncio.gather(*(send(k, client) for k, client in enumerate(senders)))
    seconds = await _wait_for_all(clients, before, sent, begin)
    stored = _tally(clients, sent, total)
    errors = sum(len(client.errors) for client in clients)

    floor = await _channel_layer_round(clients, senders)
    await asyncio.gather(*(client.close() for client in clients))
    await asyncio.sleep(2)  # the servers see everyone leave before anything else is measured
    return {
        "connected": connected,
        "settled": settled,
        "errors": errors,
        "seconds": seconds,
        **stored,
        "floor": floor,
    }


async def _channel_layer_round(clients, senders) -> dict:
    """The floor of the chat: the same fan-out (the same sockets on the same processes, as many
    messages at the same pace) sent by this process straight to the room's group through the
    channel layer, as the app announces a stored message, but with nothing stored or read.

    Each message is a frame like the last one the room delivered, with the next ids after it
    (each naming the one before it, as stored ones do), so every socket hands it over as it
    would a stored one."""
    import asyncio
    import uuid

    from channels.layers import get_channel_layer

    from messaging.broadcast import CHAT_MESSAGE, room_group

    template = max(
        (frame for client in clients for frame in client.received), key=lambda f: f["id"]
    )
    layer = get_channel_layer()
    group = room_group(template["room"])
    sent: dict[str, float] = {}
    order = sorted(
        ((k, m) for k in range(len(senders)) for m in range(CHAT_MESSAGES)),
        key=lambda km: (km[1], km[0]),
    )
    last_id = template["id"]
    before = [len(client.arrivals) for client in clients]
    begin = time.perf_counter()
    # One after the other, as the room's lock orders stored messages.
    for k, m in order:
        await asyncio.sleep(max(0.0, _paced(k, m, begin) - time.perf_counter()))
        client_id = str(uuid.uuid4())
        frame = template | {
            "id": last_id + 1,
            "prev_id": last_id,
            "client_id": client_id,
            "text": f"{senders[k].name} {m}",
        }
        last_id += 1
        sent[client_id] = time.perf_counter()
        await layer.group_send(group, {"type": CHAT_MESSAGE, "message": frame})
    seconds = await _wait_for_all(clients, before, sent, begin)
    return {**_tally(clients, sent, len(order)), "seconds": seconds}


def run() -> None:
    """Two uvicorn processes on Redis, rooms of 50 and 200 clients spread over both: each
    message counted at every member, its delivery latency, against the same fan-out through
    the channel layer alone measured in the same run (a raw Redis round trip beside it)."""
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

    def line(label: str, values: list[float], floor: list[float]) -> str:
        p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
        floor_p50, floor_p99 = percentile(floor, 0.5) * 1000, percentile(floor, 0.99) * 1000
        return (
            f"    {label:<14} p50 {p50:8.2f} ms  p99 {p99:8.2f} ms   "
            f"floor p50 {floor_p50:7.2f} ms  p99 {floor_p99:7.2f} ms   "
            f"ratio p50 {p50 / floor_p50:5.2f}x  p99 {p99 / floor_p99:5.2f}x"
        )

    def counts(result: dict) -> str:
        return (
            f"delivered {result['deliveries'] - result['lost']} of {result['deliveries']}: "
            f"lost {result['lost']}, duplicated {result['duplicated']}, out of order "
            f"{result['out_of_order']}"
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
            floor = result["floor"]
            print(
                f"  {size} clients, half on each process: connected in "
                f"{result['connected']:.1f} s, quiet after {result['settled']:.1f} s "
                "(each arrival tells the room who is online)"
            )
            print(f"    stored and sent: {counts(result)}; error frames {result['errors']}")
            print(f"    floor:           {counts(floor)}")
            print(
                f"    raw Redis      p50 {percentile(raw, 0.5) * 1000:8.2f} ms  "
                f"p99 {percentile(raw, 0.99) * 1000:8.2f} ms   (PUBLISH -> subscriber, "
                f"redis-py asyncio, {len(raw)} round trips just before; information)"
            )
            goal = size == max(CHAT_SIZES)
            for label, key in (
                ("lost", "lost"),
                ("duplicated", "duplicated"),
                ("out of order", "out_of_order"),
            ):
                figure(
                    "chat",
                    f"{size} clients: messages {label}",
                    result[key],
                    "",
                    goal="0",
                    value_at_most=0,
                )
                figure(
                    "chat",
                    f"{size} clients, floor: messages {label}",
                    floor[key],
                    "",
                    goal="0",
                    value_at_most=0,
                )
            if result["latencies"] and floor["latencies"]:
                floor_p99 = percentile(floor["latencies"], 0.99) * 1000
                figure(
                    "chat",
                    f"{size} clients: every member p99",
                    percentile(result["latencies"], 0.99) * 1000,
                    "ms",
                    floor_p99,
                    "same fan-out via the channel layer alone",
                    "at most 2x" if goal else "",
                    ratio_at_most=2 if goal else None,
                )
                figure(
                    "chat",
                    f"{size} clients: every member p50",
                    percentile(result["latencies"], 0.5) * 1000,
                    "ms",
                    percentile(floor["latencies"], 0.5) * 1000,
                    "same fan-out via the channel layer alone",
                )
                figure(
                    "chat",
                    f"{size} clients: floor p99 vs raw Redis",
                    floor_p99,
                    "ms",
                    percentile(raw, 0.99) * 1000,
                    "raw Redis PUBLISH p99",
                )
                print(line("every member", result["latencies"], floor["latencies"]))
                print(line("first member", result["firsts"], floor["firsts"]))
            print(
                f"    {result['total'] / result['seconds']:.1f} messages/s, "
                f"{result['deliveries'] / result['seconds']:.0f} deliveries/s "
                f"({result['seconds']:.1f} s from the first send to the last arrival; the "
                f"floor {floor['seconds']:.1f} s)"
            )
    print(
        f"  goal: with {max(CHAT_SIZES)} clients, every member's p99 at most 2x the floor's "
        "(the same fan-out sent straight through the channel layer, nothing stored, measured "
        "just after on the same sockets); nothing lost, duplicated or out of order"
    )
    print(f"  server logs: {log_dir}")
