"""In the embedded mode (SQLite, one write lock for the whole database), a large legacy import
no longer makes everyone else's writes fail: it applies its checked plan a batch at a time, so a
write made meanwhile waits for one batch, not for the whole import, and succeeds."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

INCIDENTS = 3000


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("legacy-sqlite")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "WORKBOOK_DIR": str(folder),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.incidents.legacy_on_sqlite", str(INCIDENTS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=settings.BASE_DIR,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_import_writes_everything(imported):
    assert "failed" not in imported, imported
    assert imported["errors"] == []
    assert imported["incidents"] == INCIDENTS


def test_writes_made_meanwhile_all_succeed(imported):
    assert imported["locked"] == 0, imported
    assert imported["written"] > 0
