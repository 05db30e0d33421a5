"""Section `import`: a generated 10,000-incident workbook (about 25,000 trail rows) through
import_legacy, against openpyxl merely reading it and django-import-export's row-by-row import:
on the run's database, and on a new SQLite file (the embedded mode) in a child process of the
same run, each against the read measured in its own process; and the peak memory of that
import, as the ru_maxrss of a child process that does nothing else (this module run on its own,
`python -m scripts.bench.legacy_import`, with BENCH_MEMORY_OF, or BENCH_SQLITE_IMPORT_OF for
the import on SQLite)."""

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


# Reads of the workbook timed, the median kept: the baseline every import is compared with.
READS = 3


def read_seconds(path: Path) -> float:
    """How long openpyxl takes merely to read every cell of the workbook (read-only, values
    only): the median of READS reads."""
    import openpyxl

    def read_only() -> float:
        start = time.perf_counter()
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        for sheet in book.worksheets:
            for _row in sheet.iter_rows(values_only=True):
                pass
        book.close()
        return time.perf_counter() - start

    return sorted(read_only() for _ in range(READS))[READS // 2]


def import_seconds(path: Path) -> float:
    """One import of the workbook, as the command line makes it, timed."""
    from incidents.legacy.importer import LegacyImporter

    start = time.perf_counter()
    report = LegacyImporter(path).run()
    seconds = time.perf_counter() - start
    assert report.ok, report.errors[:5]
    return seconds


def measure_sqlite_import(path: Path) -> None:
    """In the child process, on a new SQLite file (DATABASE_URL): migrate, then print as JSON
    how long openpyxl takes to read the workbook and how long its import takes."""
    import json

    from django.core.management import call_command

    settings.DEBUG = False
    call_command("migrate", verbosity=0)
    connection.close()
    read = read_seconds(path)
    print(json.dumps({"read": read, "import": import_seconds(path)}))


def sqlite_import(path: Path, folder: Path) -> dict:
    """The import on a new SQLite file, the embedded mode's database, in a child process of its
    own, with the read it is compared with measured in that process."""
    import json

    child = subprocess.run(
        [sys.executable, "-m", __name__],
        cwd=ROOT,
        env={
            **os.environ,
            "BENCH_SQLITE_IMPORT_OF": str(path),
            "DATABASE_URL": f"sqlite:///{folder / 'import.sqlite3'}",
            "DATA_DIR": str(folder),
        },
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    return json.loads(child.stdout.splitlines()[-1])


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
    from incidents.models import Employee
    from incidents.resources import DeviceResource
    from incidents.services import employee_create
    from locations.models import Location

    incidents = int(os.environ.get("BENCH_INCIDENTS", "10000"))
    folder = Path(tempfile.mkdtemp())
    path = folder / "legacy.xlsx"
    rows = make_workbook(path, incidents, 2.5)
    vendor = connection.vendor
    print(f"Legacy import ({vendor}, {incidents} incidents, {rows} rows in all):")

    read = read_seconds(path)
    print(f"  {'openpyxl reading the workbook once':<46} {rows / read:>9.0f} rows/s")

    print(f"  {'import_legacy memory':<46}{import_peak_memory(path)}")

    seconds = import_seconds(path)
    print(
        f"  {'import_legacy (check + write, one transaction)':<46} "
        f"{rows / seconds:>9.0f} rows/s  ({seconds:.1f} s, {seconds / read:.2f}x the read)"
    )
    goals = {"postgresql": 2, "sqlite": 3}
    names = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
    figure(
        "import",
        f"import_legacy seconds ({names.get(vendor, vendor)})",
        seconds,
        "s",
        read,
        "openpyxl read",
        f"at most {goals.get(vendor, 2)}x",
        ratio_at_most=goals.get(vendor, 2),
    )
    if vendor != "sqlite":
        embedded = sqlite_import(path, folder)
        print(
            f"  {'import_legacy on a SQLite file (batches)':<46} "
            f"{rows / embedded['import']:>9.0f} rows/s  ({embedded['import']:.1f} s, "
            f"{embedded['import'] / embedded['read']:.2f}x the read in its process)"
        )
        figure(
            "import",
            "import_legacy seconds (SQLite file)",
            embedded["import"],
            "s",
            embedded["read"],
            "openpyxl read",
            "at most 3x",
            ratio_at_most=goals["sqlite"],
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
        "import_legacy rows/s",
        rows / seconds,
        "/s",
        row_rate,
        "import-export row by row",
        "at least 10x",
        value_at_least=10 * row_rate,
    )


if __name__ == "__main__":
    if "BENCH_SQLITE_IMPORT_OF" in os.environ:
        measure_sqlite_import(Path(os.environ["BENCH_SQLITE_IMPORT_OF"]))
    else:
        measure_import_memory(Path(os.environ["BENCH_MEMORY_OF"]))
