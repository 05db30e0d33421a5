"""Benchmarks: figures, not pass/fail. Run with `make bench`.

Legacy import: a generated 10,000-incident workbook (about 25,000 trail rows) through
import_legacy, against openpyxl merely reading it and django-import-export's row-by-row import;
and the peak memory of that import, as the ru_maxrss of a child process that does nothing else.

Scan throughput: complete moves per second through the real scan station (three requests each:
device, location, commit, through the admin view with sessions, permissions and the trail),
against the bare ORM update of the same two fields and the device_move service, measured in the
same run on the same database, so the ratios say what the station costs on this machine.

Chat delivery: two uvicorn processes on Redis, rooms of 50 and 200 clients spread over both,
a few senders taking turns; every member counts what it receives (lost, duplicated) and when
(latency from the send frame), beside a raw Redis PUBLISH -> subscriber round trip measured in
the same run.

Chat search: a million generated chat messages (Chinese and English) on PostgreSQL, searched for
one-, two- and four-character Chinese queries and an English word through message_search (the
GIN-indexed search vector), against an unindexed `icontains` scan that must find the same ids.

Topology: nginx in front of one, then two app processes with production settings, 50 signed-in
people browsing lists and incident pages for a bounded time: throughput, p50/p95, errors, and
the scale-out ratio.

Pages at scale: every admin page at 1,000 and at 100,000 seeded incidents (server time, queries),
against itself at 1,000 and against a plain Django ModelAdmin (scripts/bench_pages.py).

Reports: a 2,000-incident problem group's report made as PDF and XLSX by a real worker process
(its peak memory, goal under 500 MB), while a person's incident list is requested over and over
(its median against its idle median, goal within 1.5x) (scripts/bench_report_jobs.py).

Lists: the incident and device lists in headless Chromium, served by uvicorn with DEBUG off on
a database of their own holding the demo data: HTML bytes per row and the time to a usable page
(50 and 200 rows), against the same list filtered to one row.
"""

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402

MOVES = int(os.environ.get("BENCH_MOVES", "300"))
RESULTS = ROOT / "bench" / "results.json"

# Every figure of the run, printed at the end as one table and written to bench/results.json.
FIGURES: list[dict] = []


def figure(
    section: str,
    name: str,
    value: float,
    unit: str,
    baseline: float | None = None,
    baseline_name: str = "",
    goal: str = "",
) -> None:
    """Keep one figure, with the baseline measured in the same run it is compared with (the
    ratio is value / baseline)."""
    FIGURES.append(
        {
            "section": section,
            "figure": name,
            "value": round(value, 3),
            "unit": unit,
            "baseline": None if baseline is None else round(baseline, 3),
            "baseline_name": baseline_name,
            "ratio": round(value / baseline, 3) if baseline else None,
            "goal": goal,
        }
    )


def report_figures() -> None:
    """The run's figures as one table, and as JSON for whoever compares runs."""
    if not FIGURES:
        return
    print("All figures (ratio = value / baseline, both measured in this run):")
    print(f"  {'section':<9} {'figure':<58} {'value':>12} {'baseline':>12} {'ratio':>8}  goal")
    for row in FIGURES:
        baseline = "" if row["baseline"] is None else f"{row['baseline']:g}"
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}"
        print(
            f"  {row['section']:<9} {row['figure'][:58]:<58} "
            f"{row['value']:>8g} {row['unit']:<3} {baseline:>12} {ratio:>8}  {row['goal']}"
        )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps({"vendor": connection.vendor, "figures": FIGURES}, indent=2, ensure_ascii=False)
        + "\n"
    )
    print(f"  written to {RESULTS.relative_to(ROOT)}")


def timed(label: str, count: int, run) -> float:
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    rate = count / seconds
    print(f"  {label:<46} {rate:>9.1f} moves/s  ({seconds:.2f} s for {count})")
    return rate


def bench_scan_station() -> None:
    from incidents.choices import Role
    from incidents.services import employee_create
    from locations.models import Device, Location
    from locations.services import device_move

    user = employee_create(
        employee_number="B0001", username="bench", roles=(Role.STAFF,), password="bench-pass-1"
    )
    shelves = [
        Location.objects.create(code=f"BENCH-{n}", name=f"Bench shelf {n}") for n in range(2)
    ]
    devices = Device.objects.bulk_create(
        [Device(serial_number=f"BENCH{n:06d}", location=shelves[0]) for n in range(MOVES)]
    )
    client = Client()
    client.force_login(user)
    api = reverse("admin:locations_device_scan_api")

    def post(payload: dict) -> dict:
        response = client.post(api, payload, content_type="application/json")
        return response.json()

    def through_the_station():
        for device in devices:
            post({"op": "scan", "code": f"DEV:{device.serial_number}"})
            post({"op": "scan", "code": f"LOC:{shelves[1].code}"})
            reply = post({"op": "commit", "reason": "bench"})
            assert reply["level"] == "moved", reply

    def with_the_service():
        for device in devices:
            device_move(device=device, moved_by=user, location=shelves[0], reason="bench")

    def bare_orm_update():
        for device in devices:
            Device.objects.filter(pk=device.pk).update(location=shelves[1], holder=None)

    print(f"Scan throughput ({connection.vendor}, {MOVES} moves each):")
    station = timed("scan station (3 requests per move)", MOVES, through_the_station)
    service = timed("device_move service (lock + trail)", MOVES, with_the_service)
    bare = timed("bare ORM update of location and holder", MOVES, bare_orm_update)
    print(f"  ratio bare ORM / scan station: {bare / station:.1f}x")
    figure("scan", "scan station moves", station, "/s", bare, "bare ORM update")
    figure("scan", "device_move service", service, "/s", bare, "bare ORM update")
    print(f"  ratio service / scan station:  {service / station:.1f}x")


def make_workbook(path: Path, incidents: int, moves_per_device: float) -> int:
    """A legacy-shaped workbook of `incidents` register rows and about that many times
    `moves_per_device` trail rows; returns the number of data rows written."""
    import random

    import openpyxl

    from incidents.legacy.columns import SheetKind, headers

    rng = random.Random(7)
    book = openpyxl.Workbook(write_only=True)
    people = book.create_sheet("员工")
    people.append(headers(SheetKind.EMPLOYEES))
    numbers = [str(50000 + n) for n in range(50)]
    for number in numbers:
        people.append([number, f"员工{number}", f"bench.{number}", "", "FAE", "员工"])
    places = book.create_sheet("位置")
    places.append(headers(SheetKind.LOCATIONS))
    codes = [f"BW-{n:03d}" for n in range(100)]
    for code in codes:
        places.append([code, f"货架 {code}", None])
    register = book.create_sheet("异常设备登记")
    register.append(["异常设备登记表"])
    register.append(headers(SheetKind.REGISTER))
    stages = ["产线上报", "FAE复测", "X-ray", "EE分析", "ME分析", "FAE终测", "已回产线", "已报废"]
    serials = [f"BN{n:08d}" for n in range(incidents)]
    for n, serial in enumerate(serials):
        register.append(
            [
                n + 1,
                serial,
                "Falcon",
                "EVT2",
                "1.0.0",
                "CFG-A",
                "RF",
                "BT_RSSI",
                "",
                f"BUG-2025-{n % 50:04d}",
                stages[n % len(stages)],
                rng.choice(numbers),
                rng.choice(codes),
                f"2025-0{1 + n % 9}-1{n % 10} 10:{n % 60:02d}",
                "",
            ]
        )
    trail = book.create_sheet("位置变更记录")
    trail.append(["位置变更记录"])
    trail.append(headers(SheetKind.TRAIL))
    moves = int(incidents * moves_per_device)
    for n in range(moves):
        trail.append(
            [
                serials[n % incidents],
                rng.choice(numbers),
                rng.choice(codes),
                f"2025/{1 + n % 9}/{1 + n % 28}",
                "送分析",
            ]
        )
    book.save(path)
    return len(numbers) + len(codes) + incidents + moves


class _RolledBack(Exception):
    pass


def measure_import_memory(path: Path) -> None:
    """In the child process: import the workbook inside a transaction that is then rolled back,
    and print the process's peak resident memory (KiB) before the import and after it."""
    from django.db import transaction

    from incidents.legacy.importer import LegacyImporter

    settings.DEBUG = False  # as in the parent: no query log growing with the import
    connection.settings_dict["NAME"] = os.environ["BENCH_DATABASE_NAME"]
    connection.ensure_connection()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        with transaction.atomic():
            report = LegacyImporter(path).run()
            assert report.ok, report.errors[:5]
            raise _RolledBack
    except _RolledBack:
        pass
    print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def import_peak_memory(path: Path) -> str:
    """The peak memory of importing `path`, measured in a child process (ru_maxrss) so that
    nothing else this benchmark did counts; the child's import is rolled back."""
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite" and connection.creation.is_in_memory_db(name):
        return "not measured: the test database is in memory, a child process cannot share it"
    child = subprocess.run(
        [sys.executable, __file__],
        env={**os.environ, "BENCH_MEMORY_OF": str(path), "BENCH_DATABASE_NAME": name},
        capture_output=True,
        text=True,
        timeout=1800,
        check=True,
    )
    before, peak = (int(kib) for kib in child.stdout.split()[-2:])
    return (
        f"{peak / 1024:>9.0f} MiB peak  (ru_maxrss of a child process that only imports; "
        f"{before / 1024:.0f} MiB peak before the import began)"
    )


def bench_legacy_import() -> None:
    import tempfile

    import openpyxl
    import tablib

    from incidents.choices import Role
    from incidents.legacy.importer import LegacyImporter
    from incidents.models import Employee
    from incidents.services import employee_create
    from locations.models import Location
    from incidents.resources import DeviceResource

    incidents = int(os.environ.get("BENCH_INCIDENTS", "10000"))
    folder = Path(tempfile.mkdtemp())
    path = folder / "legacy.xlsx"
    rows = make_workbook(path, incidents, 2.5)
    print(f"Legacy import ({connection.vendor}, {incidents} incidents, {rows} rows in all):")

    def read_only():
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        for sheet in book.worksheets:
            for _row in sheet.iter_rows(values_only=True):
                pass
        book.close()

    start = time.perf_counter()
    read_only()
    read_seconds = time.perf_counter() - start
    print(f"  {'openpyxl reading the workbook once':<46} {rows / read_seconds:>9.0f} rows/s")

    print(f"  {'import_legacy memory':<46}{import_peak_memory(path)}")

    start = time.perf_counter()
    report = LegacyImporter(path).run()
    import_seconds = time.perf_counter() - start
    assert report.ok, report.errors[:5]
    print(
        f"  {'import_legacy (check + write, one transaction)':<46} "
        f"{rows / import_seconds:>9.0f} rows/s  ({import_seconds:.1f} s)"
    )

    # django-import-export's default row-by-row import of the register sheet, on a sample.
    sample = min(incidents, int(os.environ.get("BENCH_ROW_BY_ROW", "1000")))
    book = openpyxl.load_workbook(path, read_only=True)
    sheet = book["异常设备登记"]
    values = list(sheet.iter_rows(min_row=2, max_row=2 + sample, values_only=True))
    book.close()
    dataset = tablib.Dataset(headers=[str(h) for h in values[0]])
    for row in values[1:]:
        dataset.append([("NEW" + str(v)) if i == 1 else v for i, v in enumerate(row)])
    assert Employee.objects.exists() and Location.objects.exists()
    start = time.perf_counter()
    importer = employee_create(
        employee_number="B0002", username="bench-admin", roles=(Role.ADMIN,), password=None
    )
    result = DeviceResource().import_data(dataset, dry_run=False, user=importer)
    row_seconds = time.perf_counter() - start
    assert not result.has_errors()
    row_rate = sample / row_seconds
    print(
        f"  {'django-import-export, row by row (devices)':<46} {row_rate:>9.0f} rows/s  "
        f"(on {sample} rows)"
    )
    figure(
        "import",
        "import_legacy seconds",
        import_seconds,
        "s",
        read_seconds,
        "openpyxl read",
        "at most 3x",
    )
    figure(
        "import",
        "import_legacy rows/s",
        rows / import_seconds,
        "/s",
        row_rate,
        "import-export row by row",
        "at least 10x",
    )
    print(
        f"  ratio import / openpyxl read:     {import_seconds / read_seconds:.1f}x slower "
        "(goal: at most 3x)"
    )
    print(
        f"  ratio import / row-by-row import: {(rows / import_seconds) / row_rate:.1f}x faster "
        "(goal: at least 10x)"
    )


# --- Chat ---------------------------------------------------------------------------------------
CHAT_SIZES = (50, 200)
CHAT_SENDERS = int(os.environ.get("BENCH_CHAT_SENDERS", "5"))
CHAT_MESSAGES = int(os.environ.get("BENCH_CHAT_MESSAGES", "40"))  # per sender
CHAT_RATE = float(os.environ.get("BENCH_CHAT_RATE", "4"))  # messages a second, per sender
CHAT_RAW_ROUND_TRIPS = 2000
# The consumers' flood limit would refuse the senders' pace: the bench processes lift it.
CHAT_LIMITS = {"CHAT_BURST": 100_000, "CHAT_RATE_PER_SECOND": 100_000}


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[round(fraction * (len(ordered) - 1))]


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


def bench_chat() -> None:
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
        p50, p99 = _percentile(values, 0.5) * 1000, _percentile(values, 0.99) * 1000
        raw_p50, raw_p99 = _percentile(raw, 0.5) * 1000, _percentile(raw, 0.99) * 1000
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
                f"    raw Redis      p50 {_percentile(raw, 0.5) * 1000:8.2f} ms  "
                f"p99 {_percentile(raw, 0.99) * 1000:8.2f} ms   (PUBLISH -> subscriber, "
                f"redis-py asyncio, {len(raw)} round trips just before)"
            )
            figure("chat", f"{size} clients: messages lost", result["lost"], "", goal="0")
            figure("chat", f"{size} clients: duplicated", result["duplicated"], "", goal="0")
            if result["latencies"]:
                figure(
                    "chat",
                    f"{size} clients: every member p99",
                    _percentile(result["latencies"], 0.99) * 1000,
                    "ms",
                    _percentile(raw, 0.99) * 1000,
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


# --- chat search ----------------------------------------------------------------------------------
def _vocabulary(words: str) -> list[str]:
    return words.split("|")


# Chat messages as people write them: a part and what is wrong with it, everyday phrases, English
# words and part codes; each list drawn with weights 1/rank, so the first are the most common.
CHAT_PARTS = _vocabulary(
    "主板|电池|屏幕|摄像头|天线|充电口|扬声器|麦克风|副板|电源板|指纹模组|SIM 卡座|马达|"
    "中框|后盖|按键|FPC|BTB 连接器|PMU|CPU|内存|闪存|WiFi 模块|GPS 模块|NFC 线圈|陀螺仪|"
    "光感|听筒|闪光灯|屏蔽罩|晶振|电感|电容|LDO|滤波器|功放|射频开关|耳机座|背光|触控 IC"
)
CHAT_FAULTS = _vocabulary(
    "不良|失效|异常|接触不良|无输出|短路|开路|松动|有划痕|偏移|漏电|发热|烧毁|变形|脱落|"
    "进水|氧化|裂纹|缺件|错件|翘起|极性反|阻值偏大|电压偏低|无信号|容值偏小|起泡|分层|"
    "压伤|脏污|引脚弯曲|丝印不清|漏贴|立碑|桥接|偏位|空焊|掉件|虚焊|锡珠"
)
CHAT_PHRASES = _vocabulary(
    "收到|好的我看一下|复测还是失败|已经送回产线|等待 FAE 确认|重启后恢复|开机卡在 logo|"
    "电压正常|功耗偏高|需要重新烧录|充电电流偏大|USB 无法识别|蓝牙配对失败|WiFi 吞吐量低|"
    "EE 帮忙量一下电源|ME 看一下结构|温度过高|音频有杂音|换料后正常|同批次还有三台|"
    "送 X-ray 看焊点|申请报废|先别动这台|日志已上传|明天上午处理|和供应商确认过了|"
    "工单已关闭|回流焊温度曲线要看|复现了|没有复现|客户退回|老化测试通过|跌落后出现|"
    "振动测试后出现|高温高湿后出现|校准数据丢失|耦合测试不过|产线治具问题|程序版本不对|"
    "拍了照片在群里|这台先挂起|麻烦尽快|谁在实验室|已经补焊|换了一块新板|"
    "示波器借我用一下|今晚加班测|结果出来了|和上次一样|图纸版本不对|周报里写一下|"
    "供应商来料问题|开会再讨论|数据在共享盘|先按报废走|下午送过去|测不到电流|"
    "版本回退后正常|需要做切片|射频测试不过"
)
CHAT_WORDS = _vocabulary(
    "ok|log|pass|fail|retest|trace|update|boot|voltage|current|GPS|NFC|LCD|PMIC|firmware|"
    "antenna|reflow|ICT|FCT|OTA|golden|sample|rework|shield|connector|ESD|EMI|thermal|"
    "crack|impedance|coupling|leakage|oscillator|debug|patch|calibration"
)
# One, two and four Chinese characters and an English word, each in a few thousand messages.
SEARCH_QUERIES = ["锡", "虚焊", "射频测试", "calibration"]


def _pick(rng, words: list[str]) -> str:
    return rng.choices(words, weights=[1 / rank for rank in range(1, len(words) + 1)])[0]


def chat_text(rng) -> str:
    """One message of one to three clauses, sometimes with an English word or a part code."""
    clauses = []
    for _clause in range(rng.choice((1, 1, 2, 2, 3))):
        if rng.random() < 0.5:
            clauses.append(_pick(rng, CHAT_PARTS) + _pick(rng, CHAT_FAULTS))
        else:
            clauses.append(_pick(rng, CHAT_PHRASES))
    if rng.random() < 0.4:
        clauses.insert(rng.randrange(len(clauses) + 1), _pick(rng, CHAT_WORDS))
    if rng.random() < 0.2:
        clauses.append(f"{rng.choice('URCJ')}{rng.randrange(1, 400)}")
    return rng.choice(("，", " ", "。")).join(clauses)


def bench_message_search() -> None:
    """A million chat messages on PostgreSQL, searched through the GIN-indexed search vector
    against an unindexed `icontains` scan returning the same ids, in the same run."""
    import random
    from datetime import UTC, datetime, timedelta

    from messaging.choices import MessageKind, RoomKind
    from messaging.models import Message, Room
    from messaging.search import (
        POSTGRESQL_CREATE_INDEX,
        POSTGRESQL_INDEX,
        message_search,
        search_tokens,
    )

    count = int(os.environ.get("BENCH_MESSAGES", "1000000"))
    if connection.vendor != "postgresql":
        print("Chat search: measured on PostgreSQL only (SQLite searches through FTS5).")
        return
    print(f"Chat search ({connection.vendor}, {count:,} messages):")
    rng = random.Random(11)
    first = datetime(2025, 1, 1, tzinfo=UTC)
    rooms = Room.objects.bulk_create(
        # A room's subject is no foreign key: ids far above any incident's, so none is touched.
        [Room(kind=RoomKind.INCIDENT, incident_id=2_000_000_000 + n) for n in range(2000)]
    )
    room_ids = [room.pk for room in rooms]
    messages = Message.objects.all()  # both sides read the same table, whatever else is in it

    def tsvector(tokens: list[str]) -> str:
        return " ".join("'{}'".format(t.replace("\\", "\\\\").replace("'", "''")) for t in tokens)

    def best_of(attempts: int, run) -> tuple[float, list[int]]:
        seconds = []
        for _attempt in range(attempts):
            start = time.perf_counter()
            ids = run()
            seconds.append(time.perf_counter() - start)
        return min(seconds), ids

    try:
        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX {POSTGRESQL_INDEX}")  # one build after the load is faster
            with cursor.cursor.copy(
                "COPY messaging_message (room_id, kind, text, event, created_at, search_vector) "
                "FROM STDIN"
            ) as copy:
                for n in range(count):
                    text = chat_text(rng)
                    copy.write_row(
                        (
                            rng.choice(room_ids),
                            MessageKind.TEXT.value,
                            text,
                            "{}",
                            first + timedelta(seconds=n),
                            tsvector(search_tokens(text)),
                        )
                    )
            loaded = time.perf_counter() - start
            cursor.execute("SET maintenance_work_mem = '256MB'")
            cursor.execute(POSTGRESQL_CREATE_INDEX)
            # What autovacuum does to a table at rest: hint bits, visibility map, statistics.
            cursor.execute("VACUUM ANALYZE messaging_message")
        print(
            f"  stored with their search vectors (COPY) in {loaded:.0f} s, GIN index built and "
            f"VACUUM ANALYZE in {time.perf_counter() - start - loaded:.0f} s"
        )
        print(f"  {'query':<14}{'found':>8}{'message_search':>17}{'icontains':>12}{'ratio':>9}")
        for query in SEARCH_QUERIES:
            searched, found = best_of(
                5,
                lambda query=query: list(
                    message_search(messages, query).values_list("id", flat=True)
                ),
            )
            scanned, expected = best_of(
                3,
                lambda query=query: list(
                    messages.filter(
                        kind=MessageKind.TEXT, deleted_at__isnull=True, text__icontains=query
                    )
                    .order_by("-id")
                    .values_list("id", flat=True)
                ),
            )
            assert found == expected, f"{query}: {len(found)} found, {len(expected)} expected"
            figure(
                "search",
                f"message_search {query!r}",
                searched * 1000,
                "ms",
                scanned * 1000,
                "icontains scan",
                "at most 0.05x",
            )
            print(
                f"  {query:<14}{len(found):>8,}{searched * 1000:>14.1f} ms"
                f"{scanned * 1000:>9.1f} ms{scanned / searched:>8.1f}x"
            )
        print("  goal: at least 20x faster than icontains, finding the same messages")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM messaging_message WHERE room_id = ANY(%s)", [room_ids])
            cursor.execute(POSTGRESQL_CREATE_INDEX)
        Room.objects.filter(pk__in=room_ids).delete()


# --- lists ----------------------------------------------------------------------------------------
LIST_LOADS = int(os.environ.get("BENCH_LIST_LOADS", "5"))
# Each list, and the cell whose text finds its row by the list's search.
LISTS = {
    "incidents": ("/admin/incidents/incident/", "td.field-device a"),
    "devices": ("/admin/locations/device/", "th.field-serial_number a"),
}


def _lists_database(folder: Path) -> tuple[str, object]:
    """A database of its own for the server, with the demo data `make run` loads: the figures
    are those of the demo whatever other sections wrote. Returns its URL and a function that
    drops it."""
    import uuid

    from scripts.servers import database_url

    config = connection.settings_dict
    if connection.vendor != "postgresql":
        return f"sqlite:///{folder / 'lists.sqlite3'}", lambda: None
    import psycopg

    name = f"adt_bench_lists_{uuid.uuid4().hex[:8]}"

    def admin_connection():
        return psycopg.connect(
            host=config["HOST"] or "127.0.0.1",
            port=config["PORT"] or 5432,
            user=config["USER"],
            password=config["PASSWORD"],
            dbname="postgres",
            autocommit=True,
        )

    with admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return database_url({**config, "NAME": name}), drop


def _page_figures(page, url: str) -> dict:
    """One load of `url`: the document's bytes, its rows, and when it became usable (HTML
    parsed, styles applied, deferred scripts run: DOMContentLoaded) and complete (load)."""
    response = page.goto(url, wait_until="load")
    assert response is not None and response.ok, f"{url}: {response and response.status}"
    timing = page.evaluate(
        "() => { const t = performance.getEntriesByType('navigation')[0];"
        " return [t.domContentLoadedEventEnd, t.loadEventEnd]; }"
    )
    return {
        "bytes": len(response.body()),
        "rows": page.locator("#result_list tr.data-row").count(),
        "usable": timing[0] / 1000,
        "complete": timing[1] / 1000,
    }


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def bench_lists() -> None:
    """The incident and device lists as a supervisor sees them in headless Chromium, served by
    uvicorn with DEBUG off on the demo data: HTML bytes per row, and the time to a usable page
    against the same list filtered to one row, measured in the same run."""
    import shutil
    import subprocess
    import tempfile

    from scripts.servers import app_servers, server_environment

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("Lists: skipped (needs playwright)")
        return
    if not Path(chromium).exists():
        print("Lists: skipped (needs Chromium)")
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-lists-"))
    url, drop = _lists_database(folder)
    env = server_environment(
        database_url=url, redis_url=settings.REDIS_URL, data_dir=folder, LOG_LEVEL="WARNING"
    )
    try:
        for command in (["migrate", "--no-input"], ["seed_demo"]):
            subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                timeout=600,
            )
        with (
            app_servers(1, env=env, log_dir=folder, extra_args=("--no-access-log",)) as servers,
            sync_playwright() as playwright,
        ):
            base = servers[0].url
            browser = playwright.chromium.launch(
                executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{base}/admin/login/")
            page.fill("input[name=username]", "fae_lead")
            page.fill("input[name=password]", "demo")
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/admin/")
            print(
                f"Lists (headless Chromium, uvicorn with DEBUG off, {connection.vendor}, demo "
                f"data, as a supervisor; median of {LIST_LOADS} loads after a first one):"
            )
            for name, (path, key_cell) in LISTS.items():
                first = _page_figures(page, f"{base}{path}")
                # The same page with one row: what the page costs without its rows.
                serial = page.locator(f"#result_list tr.data-row {key_cell}").first.inner_text()
                one = [
                    _page_figures(page, f"{base}{path}?q={serial.strip()}")
                    for _ in range(LIST_LOADS)
                ]
                for size in (50, 200):
                    loads = [
                        _page_figures(page, f"{base}{path}?per_page={size}")
                        for _ in range(LIST_LOADS)
                    ]
                    rows = loads[0]["rows"]
                    per_row = (loads[0]["bytes"] - one[0]["bytes"]) / max(1, rows - one[0]["rows"])
                    usable = _median([load["usable"] for load in loads])
                    figure(
                        "lists",
                        f"{name} list, {rows} rows: bytes a row",
                        per_row,
                        "B",
                        goal="under 2048",
                    )
                    figure(
                        "lists",
                        f"{name} list, {rows} rows: usable",
                        usable * 1000,
                        "ms",
                        _median([load["usable"] for load in one]) * 1000,
                        "one-row page",
                        "under 1000 ms" if size == 50 else "",
                    )
                    print(
                        f"  {name:<10} {rows:>3} rows  {loads[0]['bytes'] / 1024:7.0f} kB  "
                        f"{per_row / 1024:5.2f} kB a row   usable {usable * 1000:5.0f} ms, "
                        f"complete {_median([load['complete'] for load in loads]) * 1000:5.0f} ms"
                        f"   ({usable / _median([load['usable'] for load in one]):.1f}x the "
                        "one-row page)"
                    )
                print(
                    f"  {name:<10} first load {first['usable'] * 1000:5.0f} ms usable; one-row "
                    f"page {_median([load['usable'] for load in one]) * 1000:5.0f} ms"
                )
            browser.close()
        print("  goal: under 2 kB a row, usable under 1 s with 50 rows")
    finally:
        drop()


TOPOLOGY_USERS = int(os.environ.get("BENCH_TOPOLOGY_USERS", "50"))
TOPOLOGY_SECONDS = float(os.environ.get("BENCH_TOPOLOGY_SECONDS", "20"))


def _browse(base_url: str, sessions: list[str], paths: list[str], seconds: float) -> dict:
    """Each session a person in a thread, opening `paths` in turn for `seconds`: their
    latencies and how many answers were not 200."""
    import threading
    import urllib.error
    import urllib.request

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def person(session: str, offset: int) -> None:
        n = offset
        while time.monotonic() < deadline:
            path = paths[n % len(paths)]
            n += 1
            request = urllib.request.Request(
                f"{base_url}{path}", headers={"Cookie": f"sessionid={session}"}
            )
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError as error:
                status = type(error).__name__
            elapsed = time.perf_counter() - start
            with lock:
                if status == 200:
                    latencies.append(elapsed)
                else:
                    errors.append(f"{status} {path}")

    threads = [
        threading.Thread(target=person, args=(session, index))
        for index, session in enumerate(sessions)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"latencies": latencies, "errors": errors, "seconds": time.perf_counter() - started}


def bench_topology() -> None:
    """The production topology (nginx, app processes with production settings, the worker) with
    TOPOLOGY_USERS signed-in people browsing lists and incident pages for TOPOLOGY_SECONDS, once
    with one app process and once with two: throughput, p50/p95 and errors, and the ratio."""
    import tempfile

    from django.core.management import call_command

    from incidents.models import Employee, Incident
    from scripts.servers import database_url, server_environment
    from scripts.topology import nginx_available, production_topology

    if connection.vendor != "postgresql" or not settings.REDIS_URL or not nginx_available():
        print("Topology: skipped (needs PostgreSQL, REDIS_URL and nginx)")
        return
    call_command("seed_demo", verbosity=0)
    people = list(Employee.objects.filter(is_active=True, is_superuser=False)[:20])
    sessions = []
    for index in range(TOPOLOGY_USERS):
        client = Client()
        client.force_login(people[index % len(people)])
        sessions.append(client.cookies["sessionid"].value)
    incidents = list(Incident.objects.order_by("pk").values_list("pk", flat=True)[:20])
    paths = [
        "/admin/incidents/incident/",
        *[f"/admin/incidents/incident/{pk}/change/" for pk in incidents[:5]],
        "/admin/locations/device/",
        "/admin/incidents/incident/?work=mine",
    ]
    print(
        f"Topology through nginx ({TOPOLOGY_USERS} signed-in people, {TOPOLOGY_SECONDS:g} s each "
        "run, incident and device lists and incident pages in turn; the people are threads of "
        "this process, on the same 2 cores as the servers):"
    )
    results = {}
    for apps in (1, 2):
        folder = Path(tempfile.mkdtemp(prefix=f"bench-topology-{apps}-"))
        env = server_environment(
            database_url=database_url(connection.settings_dict),
            redis_url=settings.REDIS_URL,
            data_dir=folder,
        )
        with production_topology(base_env=env, directory=folder, apps=apps) as topology:
            # One round to warm the processes up (imports, pools, templates), not counted.
            _browse(topology.url, sessions[:4], paths, 2)
            result = _browse(topology.url, sessions, paths, TOPOLOGY_SECONDS)
        latencies = result["latencies"]
        rate = len(latencies) / result["seconds"]
        results[apps] = rate
        figure(
            "topology",
            f"{apps} app processes: pages",
            rate,
            "/s",
            results[1] if apps > 1 else None,
            "1 process" if apps > 1 else "",
        )
        figure("topology", f"{apps} app processes: p95", _percentile(latencies, 0.95) * 1000, "ms")
        figure("topology", f"{apps} app processes: errors", len(result["errors"]), "", goal="0")
        print(
            f"  {apps} app process{'es' if apps > 1 else ''}: {rate:7.1f} pages/s   "
            f"p50 {_percentile(latencies, 0.5) * 1000:7.0f} ms   "
            f"p95 {_percentile(latencies, 0.95) * 1000:7.0f} ms   "
            f"errors {len(result['errors'])}"
            + (f" (e.g. {result['errors'][0]})" if result["errors"] else "")
        )
    print(f"  scale-out ratio, 2 processes / 1: {results[2] / results[1]:.2f}x")


def bench_pages(record) -> None:
    from scripts.bench_pages import bench_pages as pages_at_scale

    pages_at_scale(record)


def bench_reports(record) -> None:
    from scripts.bench_report_jobs import bench_report_jobs

    bench_report_jobs(record)


def main() -> None:
    if path := os.environ.get("BENCH_MEMORY_OF"):
        measure_import_memory(Path(path))
        return
    setup_test_environment()
    settings.DEBUG = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    sections = {
        "scan": bench_scan_station,
        "import": bench_legacy_import,
        "search": bench_message_search,
        "chat": bench_chat,
        "lists": bench_lists,
        "topology": bench_topology,
        "pages": lambda: bench_pages(figure),
        "reports": lambda: bench_reports(figure),
    }
    # BENCH_ONLY=chat,search runs just those (the figures of one part without the rest).
    chosen = [n.strip() for n in os.environ.get("BENCH_ONLY", "").split(",") if n.strip()]
    try:
        for name in chosen or sections:
            sections[name]()
            print()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    report_figures()


if __name__ == "__main__":
    main()
