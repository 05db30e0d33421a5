"""Legacy imports as background jobs: queued in the database, run by `manage.py db_worker`, kept
alive by a heartbeat, marked failed when their worker dies and started again; workbooks bounded
before anything opens them."""

import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from urllib.parse import quote

import openpyxl
import pytest
from django.apps import apps
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from incidents.legacy.columns import SheetKind, headers
from incidents.legacy.importer import ImportReport, LegacyImporter
from incidents.models import Incident, LegacyImport, LegacyImportStatus
from incidents.services.errors import WorkflowError
from incidents.services.legacy import (
    legacy_import_fail_stalled,
    legacy_import_run,
    legacy_workbook_check,
)
from locations.models import Device

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "fixtures" / "legacy_sample.xlsx"
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def upload(client, content: bytes | None = None, name: str = "legacy.xlsx"):
    return client.post(
        reverse("admin:incidents_legacyimport_add"),
        {"workbook": SimpleUploadedFile(name, content or SAMPLE.read_bytes())},
    )


def status_of(client, job) -> dict:
    return client.get(reverse("admin:incidents_legacyimport_status", args=[job.pk])).json()


def zip_bomb(path: Path, unpacked_bytes: int) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * unpacked_bytes)
    return path


def big_workbook(path: Path, incidents: int) -> Path:
    """A legacy-shaped workbook: `incidents` register rows and two trail rows for each."""
    rng = random.Random(7)
    book = openpyxl.Workbook(write_only=True)
    people = book.create_sheet("员工")
    people.append(headers(SheetKind.EMPLOYEES))
    numbers = [str(60000 + n) for n in range(20)]
    for number in numbers:
        people.append([number, f"员工{number}", f"job.{number}", "", "FAE", "员工"])
    places = book.create_sheet("位置")
    places.append(headers(SheetKind.LOCATIONS))
    codes = [f"JOB-{n:02d}" for n in range(20)]
    for code in codes:
        places.append([code, f"货架 {code}", None])
    register = book.create_sheet("异常设备登记")
    register.append(headers(SheetKind.REGISTER))
    serials = [f"JB{n:07d}" for n in range(incidents)]
    for n, serial in enumerate(serials):
        details = ["Falcon", "EVT2", "1.0.0", "CFG-A", "RF", "BT_RSSI", "", "", "FAE复测"]
        holder, place = rng.choice(numbers), rng.choice(codes)
        register.append([n + 1, serial, *details, holder, place, f"2025-03-{1 + n % 28:02d}", ""])
    trail = book.create_sheet("位置变更记录")
    trail.append(headers(SheetKind.TRAIL))
    for n in range(incidents * 2):
        trail.append([serials[n % incidents], rng.choice(numbers), rng.choice(codes), "2025/3/4"])
    book.save(path)
    return path


def domain_counts() -> dict[str, int]:
    """Rows of every table an import writes to (people, places, devices, incidents, trails)."""
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in ("incidents", "locations", "auth") and model is not LegacyImport
    }


def claimed_by_a_worker_that_died(job: LegacyImport, *, seconds_ago: float) -> None:
    """What a worker leaves behind when it is killed: its task row running, its last beat old."""
    DBTaskResult.objects.get(pk=job.task_id).claim("a-worker-that-died")
    cache.set(
        f"legacy-import:{job.pk}:heartbeat",
        {"attempt": job.attempt, "at": time.time() - seconds_ago},
    )


@pytest.fixture
def queue(settings):
    """Tasks go to the database queue and wait there for a worker, as in production."""
    settings.TASKS = QUEUE
    settings.LEGACY_IMPORT_STALLED_AFTER_SECONDS = 60


@pytest.fixture
def restore_signals():
    """The worker installs its own SIGINT/SIGTERM handlers; give pytest its own back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.mark.django_db
class WorkbookLimitTests:
    def test_a_workbook_over_the_size_limit_is_refused_before_it_is_kept(
        self, admin_client, settings, media_root
    ):
        settings.LEGACY_IMPORT_MAX_BYTES = 1024

        response = upload(admin_client)

        assert response.status_code == 200
        assert "at most 1.0" in response.content.decode()
        assert not LegacyImport.objects.exists()
        assert not media_root.exists() or not any(media_root.rglob("*.xlsx"))

    def test_a_zip_bomb_is_refused_without_being_opened(
        self, admin_client, settings, tmp_path, monkeypatch
    ):
        settings.LEGACY_IMPORT_MAX_UNPACKED_BYTES = 1024 * 1024
        bomb = zip_bomb(tmp_path / "bomb.xlsx", 4 * 1024 * 1024)
        opened = []
        monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: opened.append(a))

        response = upload(admin_client, bomb.read_bytes())

        assert bomb.stat().st_size < 50 * 1024
        assert response.status_code == 200
        assert "it looks like a zip bomb" in response.content.decode()
        assert opened == []
        assert not LegacyImport.objects.exists()

    def test_the_upload_page_says_how_large_a_workbook_may_be(self, admin_client, settings):
        settings.LEGACY_IMPORT_MAX_BYTES = 50 * 1024 * 1024

        page = admin_client.get(reverse("admin:incidents_legacyimport_add")).content.decode()

        assert "The workbook may be at most 50.0\xa0MB." in page

    def test_the_import_legacy_command_obeys_the_same_limits(self, settings, tmp_path):
        settings.LEGACY_IMPORT_MAX_UNPACKED_BYTES = 1024 * 1024
        bomb = zip_bomb(tmp_path / "bomb.xlsx", 4 * 1024 * 1024)
        not_a_zip = tmp_path / "text.xlsx"
        not_a_zip.write_text("name,serial\n")

        with pytest.raises(CommandError, match="zip bomb"):
            call_command("import_legacy", str(bomb))
        with pytest.raises(CommandError, match="not a zip archive"):
            call_command("import_legacy", str(not_a_zip))

    def test_the_sample_workbook_passes_the_check(self):
        legacy_workbook_check(workbook=SAMPLE)
        with SAMPLE.open("rb") as workbook:
            legacy_workbook_check(workbook=workbook)
            assert workbook.tell() == 0

    def test_a_workbook_that_grew_past_the_limit_after_its_upload_fails_in_the_worker(
        self, admin_client, settings, django_capture_on_commit_callbacks
    ):
        settings.TASKS = IMMEDIATE
        settings.LEGACY_IMPORT_MAX_BYTES = 100 * 1024 * 1024
        with django_capture_on_commit_callbacks(execute=False) as queued:
            upload(admin_client)
        settings.LEGACY_IMPORT_MAX_BYTES = 1024
        for enqueue in queued:
            enqueue()

        job = LegacyImport.objects.get()
        assert job.status == LegacyImportStatus.FAILED
        assert "at most 1.0" in job.report["errors"][0]


@pytest.mark.django_db
class StalledJobTests:
    def test_a_job_waiting_in_the_queue_for_a_worker_is_not_failed(
        self, admin_client, queue, settings, django_capture_on_commit_callbacks
    ):
        settings.LEGACY_IMPORT_STALLED_AFTER_SECONDS = 0
        with django_capture_on_commit_callbacks(execute=True):
            upload(admin_client)
        job = LegacyImport.objects.get()

        state = status_of(admin_client, job)

        assert DBTaskResult.objects.get(pk=job.task_id).status == TaskResultStatus.READY
        assert state["status"] == "checking"
        assert state["running"] and state["waiting"]

    def test_a_job_whose_worker_went_silent_is_failed_with_its_task_and_says_so(
        self, admin_client, queue, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            upload(admin_client)
        job = LegacyImport.objects.get()
        claimed_by_a_worker_that_died(job, seconds_ago=61)

        state = status_of(admin_client, job)

        job.refresh_from_db()
        assert state["status"] == "failed" and not state["running"]
        assert job.report["errors"] == [
            "The background worker stopped before the check was finished. Nothing was "
            "imported: start it again."
        ]
        task = DBTaskResult.objects.get(pk=job.task_id)
        assert task.status == TaskResultStatus.FAILED
        assert task.exception_class_path == "incidents.services.legacy.WorkerLost"
        page = admin_client.get(reverse("admin:incidents_legacyimport_change", args=[job.pk]))
        assert "Start again" in page.content.decode()

    def test_the_heartbeat_keeps_an_import_alive_through_a_long_step_without_progress(
        self, admin_client, settings, django_capture_on_commit_callbacks, monkeypatch
    ):
        settings.TASKS = IMMEDIATE
        settings.LEGACY_IMPORT_HEARTBEAT_SECONDS = 0.05
        settings.LEGACY_IMPORT_STALLED_AFTER_SECONDS = 0.3
        failed_midway = []

        def a_long_silent_step(importer, *, dry_run):
            time.sleep(0.8)
            failed_midway.append(legacy_import_fail_stalled())
            return ImportReport(dry_run=dry_run)

        monkeypatch.setattr(LegacyImporter, "run", a_long_silent_step)
        with django_capture_on_commit_callbacks(execute=True):
            upload(admin_client)

        assert failed_midway == [0]
        assert LegacyImport.objects.get().status == LegacyImportStatus.CHECKED

    def test_a_job_whose_worker_beats_is_left_running(
        self, admin_client, queue, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            upload(admin_client)
        job = LegacyImport.objects.get()
        claimed_by_a_worker_that_died(job, seconds_ago=59)

        assert status_of(admin_client, job)["status"] == "checking"
        assert DBTaskResult.objects.get(pk=job.task_id).status == TaskResultStatus.RUNNING

    def test_a_heartbeat_of_an_earlier_attempt_does_not_keep_a_job_alive(
        self, admin_client, queue, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            upload(admin_client)
        job = LegacyImport.objects.get()
        DBTaskResult.objects.get(pk=job.task_id).claim("a-worker-that-died")
        DBTaskResult.objects.filter(pk=job.task_id).update(started_at="2025-01-01T00:00:00Z")
        cache.set(f"legacy-import:{job.pk}:heartbeat", {"attempt": 0, "at": time.time()})

        assert legacy_import_fail_stalled(job=job) == 1
        assert job.status == LegacyImportStatus.FAILED

    def test_the_job_list_marks_jobs_whose_worker_died_as_failed(
        self, admin_client, queue, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            upload(admin_client)
        job = LegacyImport.objects.get()
        claimed_by_a_worker_that_died(job, seconds_ago=120)

        page = admin_client.get(reverse("admin:incidents_legacyimport_changelist"))

        job.refresh_from_db()
        assert page.status_code == 200
        assert job.status == LegacyImportStatus.FAILED

    # The worker closes connections between tasks; the rows of the data migrations (roles)
    # are put back for the tests after it.
    @pytest.mark.django_db(transaction=True, serialized_rollback=True)
    def test_a_worker_starting_marks_jobs_whose_worker_died_as_failed(
        self, admin_client, queue, django_capture_on_commit_callbacks, restore_signals
    ):
        with django_capture_on_commit_callbacks(execute=True):
            upload(admin_client)
        job = LegacyImport.objects.get()
        claimed_by_a_worker_that_died(job, seconds_ago=120)

        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

        job.refresh_from_db()
        assert job.status == LegacyImportStatus.FAILED
        assert DBTaskResult.objects.get(pk=job.task_id).status == TaskResultStatus.FAILED


@pytest.mark.django_db
class StartAgainTests:
    def fail_while_queued(self, job: LegacyImport, settings) -> LegacyImport:
        claimed_by_a_worker_that_died(job, seconds_ago=120)
        legacy_import_fail_stalled(job=job)
        assert job.status == LegacyImportStatus.FAILED
        settings.TASKS = IMMEDIATE
        return job

    def test_start_again_runs_the_check_when_the_check_failed(
        self, admin_client, queue, settings, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            upload(admin_client)
        job = self.fail_while_queued(LegacyImport.objects.get(), settings)
        page = admin_client.get(reverse("admin:incidents_legacyimport_change", args=[job.pk]))
        assert "Starting again runs the check of the workbook." in page.content.decode()

        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(reverse("admin:incidents_legacyimport_retry", args=[job.pk]))

        job.refresh_from_db()
        assert job.status == LegacyImportStatus.CHECKED
        assert job.attempt == 2 and job.report == {}
        assert not Device.objects.filter(serial_number__startswith="LG").exists()

    def test_start_again_runs_the_import_when_the_import_failed(
        self, admin_client, settings, django_capture_on_commit_callbacks
    ):
        settings.TASKS = IMMEDIATE
        with django_capture_on_commit_callbacks(execute=True):
            upload(admin_client)
        job = LegacyImport.objects.get()
        settings.TASKS = QUEUE
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(reverse("admin:incidents_legacyimport_confirm", args=[job.pk]))
        job.refresh_from_db()
        self.fail_while_queued(job, settings)
        assert "An import is written all at once or not at all" in job.report["errors"][0]

        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(reverse("admin:incidents_legacyimport_retry", args=[job.pk]))

        job.refresh_from_db()
        assert job.status == LegacyImportStatus.DONE
        assert {s["kind"]: s["created"] for s in job.report["sheets"]}["register"] == 40
        assert Incident.objects.filter(device__serial_number__startswith="LG").count() == 40

    def test_only_a_failed_job_can_be_started_again(
        self, admin_client, settings, django_capture_on_commit_callbacks
    ):
        settings.TASKS = IMMEDIATE
        with django_capture_on_commit_callbacks(execute=True):
            upload(admin_client)
        job = LegacyImport.objects.get()

        response = admin_client.post(
            reverse("admin:incidents_legacyimport_retry", args=[job.pk]), follow=True
        )

        job.refresh_from_db()
        assert job.status == LegacyImportStatus.CHECKED and job.attempt == 1
        assert "Only a failed import can be started again" in response.content.decode()

    def test_supervisors_cannot_start_a_job_again(
        self, admin_client, supervisor_client, queue, settings, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            upload(admin_client)
        job = self.fail_while_queued(LegacyImport.objects.get(), settings)

        supervisor_client.post(reverse("admin:incidents_legacyimport_retry", args=[job.pk]))

        job.refresh_from_db()
        assert job.status == LegacyImportStatus.FAILED and job.attempt == 1

    def test_a_worker_that_outlived_its_attempt_changes_nothing(
        self, admin_client, queue, settings, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            upload(admin_client)
        job = self.fail_while_queued(LegacyImport.objects.get(), settings)
        settings.TASKS = QUEUE
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(reverse("admin:incidents_legacyimport_retry", args=[job.pk]))

        legacy_import_run(job_id=job.pk, dry_run=True, attempt=1)

        job.refresh_from_db()
        assert job.status == LegacyImportStatus.CHECKING and job.attempt == 2
        assert job.dry_run_report == {}

    def test_the_service_refuses_a_workbook_that_is_not_a_zip(self):
        with pytest.raises(WorkflowError, match="not a zip archive"):
            legacy_workbook_check(workbook=SimpleUploadedFile("a.xlsx", b"plain text"))


def _worker_environment(tmp_path: Path, settings) -> dict[str, str]:
    """The worker process sees what the test sees: its database, cache and media folder."""
    db = connection.settings_dict
    user, password = quote(db["USER"], safe=""), quote(db["PASSWORD"], safe="")
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DATABASE_URL=(
            f"postgres://{user}:{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        DATA_DIR=str(tmp_path / "worker"),
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        LEGACY_IMPORT_HEARTBEAT_SECONDS="0.2",
        PYTHONUNBUFFERED="1",
    )
    if not settings.REDIS_URL:  # embedded cache: files, in a folder both processes use
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                "LOCATION": tmp_path / "worker" / "cache",
            }
        }
    return env


def _start_worker(env: dict, output, *options: str) -> subprocess.Popen:
    command = ["manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.1"]
    return subprocess.Popen(
        [sys.executable, *command, *options],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)


def _other_backends(*, writing: bool = False) -> int:
    """Other processes' sessions on the test database (the worker's), or those inside a
    write; this process's own (pooled) sessions carry its name."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND application_name <> %s"
            + (" AND backend_xid IS NOT NULL" if writing else ""),
            [f"adt-{os.getpid()}"],
        )
        return cursor.fetchone()[0]


def _rows_inserted() -> int:
    """Rows ever inserted into the import's tables, those of rolled-back transactions too."""
    tables = [
        model._meta.db_table
        for model in apps.get_models()
        if model._meta.app_label in ("incidents", "locations") and model is not LegacyImport
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT coalesce(sum(n_tup_ins), 0) FROM pg_stat_user_tables WHERE relname = ANY(%s)",
            [tables],
        )
        return cursor.fetchone()[0]


def _until(condition, *, seconds: float, what: str, step: float = 0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(step)
    raise AssertionError(f"gave up after {seconds} s waiting for {what}")


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the worker process needs a test database it can share (PostgreSQL)",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
class WorkerProcessTests:
    INCIDENTS = 6000

    def test_a_worker_killed_mid_import_leaves_nothing_half_written_and_the_job_starts_again(
        self, admin_client, settings, tmp_path
    ):
        settings.TASKS = QUEUE
        settings.LEGACY_IMPORT_STALLED_AFTER_SECONDS = 2
        env = _worker_environment(tmp_path, settings)
        log = tmp_path / "worker.log"
        workbook = big_workbook(tmp_path / "big.xlsx", self.INCIDENTS)
        processes = []
        output = log.open("a")
        try:
            upload(admin_client, workbook.read_bytes())
            job = LegacyImport.objects.get()

            # Looked at all along, a job whose worker beats is never taken for dead.
            checker = _start_worker(env, output, "--batch")
            processes.append(checker)
            states, deadline = [], time.monotonic() + 120
            while checker.poll() is None:
                assert time.monotonic() < deadline, "the check did not end within 120 s"
                states.append(status_of(admin_client, job)["status"])
                time.sleep(0.2)
            job.refresh_from_db()
            assert job.status == LegacyImportStatus.CHECKED, log.read_text()
            assert "checking" in states and "failed" not in states
            before, inserted_before = domain_counts(), _rows_inserted()

            admin_client.post(reverse("admin:incidents_legacyimport_confirm", args=[job.pk]))
            worker = _start_worker(env, output)
            processes.append(worker)
            _until(
                lambda: status_of(admin_client, job)["progress"].get("phase") == "import",
                seconds=60,
                what="the import to report progress",
            )
            _until(
                lambda: _other_backends(writing=True),
                seconds=60,
                what="the import to write inside its transaction",
                step=0.01,
            )
            worker.kill()
            worker.wait(timeout=30)
            _until(lambda: not _other_backends(), seconds=30, what="its session to end")

            _until(
                lambda: _rows_inserted() > inserted_before,
                seconds=10,
                what="the statistics to count the rows the killed import had written",
                step=0.2,
            )
            assert domain_counts() == before
            state = _until(
                lambda: (s := status_of(admin_client, job))["status"] == "failed" and s,
                seconds=30,
                what="the job to be marked failed",
                step=0.2,
            )
            assert not state["running"]
            job.refresh_from_db()
            assert "An import is written all at once or not at all" in job.report["errors"][0]
            assert DBTaskResult.objects.get(pk=job.task_id).status == TaskResultStatus.FAILED

            admin_client.post(reverse("admin:incidents_legacyimport_retry", args=[job.pk]))
            job.refresh_from_db()
            assert job.status == LegacyImportStatus.IMPORTING
            again = _start_worker(env, output, "--batch")
            processes.append(again)
            again.wait(timeout=240)

            job.refresh_from_db()
            assert job.status == LegacyImportStatus.DONE, log.read_text()
            created = {s["kind"]: s["created"] for s in job.report["sheets"]}
            assert created["register"] == self.INCIDENTS
            assert Incident.objects.filter(device__serial_number__startswith="JB").count() == (
                self.INCIDENTS
            )
        finally:
            for process in processes:
                _stop(process)
            output.close()
