"""Tests that need a database of their own (a fresh SQLite file, an empty PostgreSQL database)
run a module of the suite in a process of its own, which prints its findings as JSON."""

import json
import os
import subprocess
import sys

from django.conf import settings


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
