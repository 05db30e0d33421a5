"""Benchmarks: figures, not pass/fail. Run with `make bench`.

Legacy import: a generated 10,000-incident workbook (about 25,000 trail rows) through
import_legacy, against openpyxl merely reading it and django-import-export's row-by-row import;
and the peak memory of that import, as the ru_maxrss of a child process that does nothing else.

Scan throughput: complete moves per second through the real scan station (three requests each:
device, location, commit, through the admin view with sessions, permissions and the trail),
against the bare ORM update of the same two fields and the device_move service, measured in the
same run on the same database, so the ratios say what the station costs on this machine.
"""

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
    from locations.resources import DeviceResource

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
    print(
        f"  ratio import / openpyxl read:     {import_seconds / read_seconds:.1f}x slower "
        "(goal: at most 3x)"
    )
    print(
        f"  ratio import / row-by-row import: {(rows / import_seconds) / row_rate:.1f}x faster "
        "(goal: at least 10x)"
    )


def main() -> None:
    if path := os.environ.get("BENCH_MEMORY_OF"):
        measure_import_memory(Path(path))
        return
    setup_test_environment()
    settings.DEBUG = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        bench_scan_station()
        print()
        bench_legacy_import()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
