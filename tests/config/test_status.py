"""The site's status: processes announced alive, the queue, the disk and the last backup, shown
to administrators at /admin/status/ and to a monitoring system holding the token at /metrics."""

import json
import time

import pytest
from django.test import Client, override_settings

from config import status
from config.backup import make_backup
from config.kit import processes
from tests.factories import AdminFactory, StaffFactory

TOKEN = "a-long-metrics-token-for-the-tests"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def no_processes(settings):
    """A process store of the test's own, without anyone's announcements but the test's."""
    settings.REDIS_KEY_PREFIX = f"{settings.REDIS_KEY_PREFIX}-status-test"
    client = processes._redis()
    client.delete(*processes.store_keys())
    yield
    client.delete(*processes.store_keys())
    client.close()


@pytest.mark.django_db
class StatusTests:
    def test_a_worker_announced_is_alive_and_the_status_is_ok(self, no_processes, settings):
        settings.MEDIA_DISK_MIN_FREE_BYTES = 0
        processes.announce("worker")
        processes.announce("app")

        found = status.system_status()

        assert found["database"] == "ok" and found["redis"] == "ok"
        assert [p["kind"] for p in found["workers"]] == ["worker"]
        assert len(found["apps"]) == 1
        assert found["queue"] == {"waiting": 0, "running": 0}
        assert found["ok"] is True

    def test_without_a_worker_alive_the_status_says_so(self, no_processes, settings):
        settings.MEDIA_DISK_MIN_FREE_BYTES = 0

        found = status.system_status()

        assert found["workers"] == [] and found["ok"] is False

    def test_embedded_processes_announce_themselves_in_files_that_expire(self, tmp_path, settings):
        with override_settings(REDIS_URL="", DATA_DIR=tmp_path):
            processes.announce("worker")
            stale = tmp_path / "processes" / "app-1.json"
            stale.write_text(
                json.dumps(
                    {
                        "kind": "app",
                        "pid": 1,
                        "host": "h",
                        "started": 0,
                        "at": time.time() - settings.PROCESS_TTL_SECONDS - 1,
                    }
                )
            )

            alive = status.processes()

        assert [p["kind"] for p in alive] == ["worker"]
        assert not stale.exists()

    def test_the_newest_backup_is_reported(self, tmp_path, settings):
        settings.MEDIA_ROOT = tmp_path / "media"
        settings.BACKUP_DIR = str(tmp_path / "backups")
        made = make_backup(tmp_path / "backups")

        backup = status.system_status()["backup"]

        assert backup["at"] == made.created_at and backup["size"] == made.size > 0

    def test_the_page_is_for_administrators_only(self, no_processes):
        processes.announce("worker")

        page = signed_in(AdminFactory()).get("/admin/status/")
        refused = signed_in(StaffFactory()).get("/admin/status/")

        assert page.status_code == 200
        html = page.content.decode()
        assert 'data-check="workers"' in html and "pid" in html
        assert refused.status_code == 403

    def test_metrics_answer_only_the_token_holder(self, client, no_processes, settings):
        settings.METRICS_TOKEN = TOKEN
        processes.announce("worker")

        answered = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        settings.METRICS_TOKEN = ""
        unset = client.get("/metrics", headers={"Authorization": "Bearer "})

        assert answered.status_code == 200
        text = answered.content.decode()
        assert "adt_database_up 1" in text
        assert "adt_worker_processes 1" in text
        assert "# TYPE adt_media_disk_free_bytes gauge" in text
        assert wrong.status_code == 404 and unset.status_code == 404
