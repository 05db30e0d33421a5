"""Tests that need a database of their own (a fresh SQLite file, an empty PostgreSQL database)
run a module of the suite in a process of its own, which prints its findings as JSON."""

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from tests.workers import locked, shared_root


def run_json(module: str, *args: str, database_url: str, timeout: int = 300, **env) -> dict:
    """Run `python -m module args…` with DATABASE_URL (and `env`) set; what it printed last,
    read as JSON. A failing run fails the test with the end of its error output."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        env={**os.environ, "DATABASE_URL": database_url, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=settings.BASE_DIR,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def migrated_sqlite(tmp_path_factory, name: str) -> Path:
    """A new SQLite file (in a new folder of its own, `name`) holding every migration,
    as `migrate` leaves a new file: a copy of one file migrated once per run, by whichever test
    process asks first while the others wait on a lock. Migrating takes seconds; copying none."""
    root = shared_root(tmp_path_factory) / "migrated-sqlite"
    template = root / "db.sqlite3"
    with locked(root / "lock"):
        if not (root / "ready").exists():
            for made in root.glob("db.sqlite3*"):
                made.unlink()
            done = subprocess.run(
                [sys.executable, "manage.py", "migrate", "--no-input", "--verbosity", "0"],
                env={**os.environ, "DATABASE_URL": f"sqlite:///{template}"},
                capture_output=True,
                text=True,
                timeout=300,
                cwd=settings.BASE_DIR,
            )
            assert done.returncode == 0, done.stderr[-3000:]
            (root / "ready").touch()
    copy = tmp_path_factory.mktemp(name) / "db.sqlite3"
    # The write-ahead log too, if the migrating process left one.
    for part in root.glob("db.sqlite3*"):
        if not part.name.endswith("-shm"):
            shutil.copyfile(part, copy.with_name(part.name))
    return copy


def once_per_run(tmp_path_factory, name: str, findings: Callable[[], dict]) -> dict:
    """What `findings()` returns (JSON), worked out once per run: by whichever test process asks
    first, the others waiting on a lock and reading what it wrote."""
    root = shared_root(tmp_path_factory) / "once-per-run"
    kept = root / f"{name}.json"
    with locked(root / f"{name}.lock"):
        if not kept.exists():
            kept.write_text(json.dumps(findings()))
        return json.loads(kept.read_text())
