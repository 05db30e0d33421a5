"""In the embedded mode (SQLite, one write lock for the whole database), a large legacy import
no longer makes everyone else's writes fail: it applies its checked plan a batch at a time, so a
write made meanwhile waits for one batch, not for the whole import, and succeeds."""

import pytest

from tests.processes import migrated_sqlite, once_per_run, run_json

INCIDENTS = 3000


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    def findings() -> dict:
        database = migrated_sqlite(tmp_path_factory, "legacy-sqlite")
        return run_json(
            "tests.incidents.legacy_on_sqlite",
            str(INCIDENTS),
            database_url=f"sqlite:///{database}",
            timeout=600,
            WORKBOOK_DIR=str(database.parent),
        )

    return once_per_run(tmp_path_factory, "legacy-on-sqlite", findings)


def test_the_import_writes_everything(imported):
    assert "failed" not in imported, imported
    assert imported["errors"] == []
    assert imported["incidents"] == INCIDENTS


def test_writes_made_meanwhile_all_succeed(imported):
    assert imported["locked"] == 0, imported
    assert imported["written"] > 0
