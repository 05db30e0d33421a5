"""Section `import`: a generated 10,000-incident workbook (about 25,000 trail rows) through
import_legacy, against openpyxl merely reading it and django-import-export's row-by-row import;
and the peak memory of that import, as the ru_maxrss of a child process that does nothing else
(this module run on its own, `python -m scripts.bench.legacy_import`, with BENCH_MEMORY_OF)."""

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from scripts.bench.figures import figure
from scripts.servers import ROOT


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
        [sys.executable, "-m", __name__],
        cwd=ROOT,
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


def run() -> None:
    import tempfile

    import openpyxl
    import tablib

    from incidents.choices import Role
    from incidents.legacy.importer import LegacyImporter
    from incidents.models import Employee
    from incidents.resources import DeviceResource
    from incidents.services import employee_create
    from locations.models import Location

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


if __name__ == "__main__":
    measure_import_memory(Path(os.environ["BENCH_MEMORY_OF"]))
