"""Backup and restore, end to end on PostgreSQL: data with attachments and history is backed up,
restored into an empty instance (a new database, an empty media folder) by `manage.py restore`
in its own process, and every table and every file is identical."""

import json
import subprocess
import sys
import urllib.parse

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection

from config.backup import MANIFEST, backups, make_backup
from incidents.choices import Stage
from incidents.services.records import operation_record_add
from scripts.servers import ROOT, database_url
from tests.fingerprint import fingerprint
from tests.incidents.test_workflow import assigned, build_team

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_dump and pg_restore"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.timeout(180),
]

FINGERPRINT = (
    "import django, json; django.setup(); from tests.fingerprint import fingerprint; "
    "print(json.dumps(fingerprint()))"
)


def run_manage(
    args: list[str], *, database: str, media_root, data_dir
) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database,
        "DATABASE_POOL": "false",
        "MEDIA_ROOT": str(media_root),
        "DATA_DIR": str(data_dir),
    }
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def empty_database():
    """A new, empty database on the same server: the instance a backup is restored into."""
    name = f"{connection.settings_dict['NAME']}_restored"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    url = urllib.parse.urlparse(database_url(connection.settings_dict))
    yield url._replace(path=f"/{name}").geturl()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def attachment(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/plain")


def test_a_backup_restored_into_an_empty_instance_is_identical(tmp_path, settings, empty_database):
    settings.MEDIA_ROOT = tmp_path / "media"
    team = build_team()
    incident = assigned(team, Stage.FAE_RETEST)
    operation_record_add(
        incident=incident,
        by=team.worker(Stage.FAE_RETEST),
        action="Retest on station 3",
        files=[attachment("station3.log", b"FAIL BT_RSSI -91 dBm\n" * 50)],
    )
    incident.device.description = "changed, so the history has more than one row"
    incident.device.save()
    before = fingerprint()
    files_before = {
        str(p.relative_to(settings.MEDIA_ROOT)): p.read_bytes()
        for p in settings.MEDIA_ROOT.rglob("*")
        if p.is_file()
    }
    assert files_before, "the data has an attachment"

    call_command("backup", to=tmp_path / "backups")

    [backup] = backups(tmp_path / "backups")
    manifest = json.loads((backup.path / MANIFEST).read_text())
    assert set(manifest["media"]) == set(files_before)
    restored_media = tmp_path / "restored-media"
    result = run_manage(
        ["manage.py", "restore", str(backup.path)],
        database=empty_database,
        media_root=restored_media,
        data_dir=tmp_path / "restored-data",
    )
    assert result.returncode == 0, result.stderr
    assert "Restored the backup" in result.stdout

    after = run_manage(
        ["-c", FINGERPRINT],
        database=empty_database,
        media_root=restored_media,
        data_dir=tmp_path / "restored-data",
    )
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout) == before
    files_after = {
        str(p.relative_to(restored_media)): p.read_bytes()
        for p in restored_media.rglob("*")
        if p.is_file()
    }
    assert files_after == files_before

    # Restoring again over what is there now is refused, and changes nothing.
    again = run_manage(
        ["manage.py", "restore", str(backup.path)],
        database=empty_database,
        media_root=restored_media,
        data_dir=tmp_path / "restored-data",
    )
    assert again.returncode != 0
    assert "the database is not empty" in again.stderr
    unchanged = run_manage(
        ["-c", FINGERPRINT],
        database=empty_database,
        media_root=restored_media,
        data_dir=tmp_path / "restored-data",
    )
    assert json.loads(unchanged.stdout) == before


def test_only_the_newest_backups_are_kept_and_a_partial_one_never_counts(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    folder = tmp_path / "backups"
    made = [make_backup(folder, keep=2) for _ in range(3)]
    (folder / "adt-backup-20990101-000000-000000.partial").mkdir()

    kept = backups(folder)

    assert [b.path for b in kept] == [made[1].path, made[2].path]
    assert not made[0].path.exists()


def test_a_damaged_backup_is_refused_before_anything_is_restored(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    backup = make_backup(tmp_path / "backups")
    dump = backup.path / backup.manifest["database"]
    dump.write_bytes(dump.read_bytes()[:-10])

    with pytest.raises(CommandError, match="damaged"):
        call_command("restore", str(backup.path))


def test_the_backup_refuses_to_write_over_nothing_and_names_a_missing_tool(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", str(tmp_path))
        with pytest.raises(CommandError, match="pg_dump is not installed"):
            call_command("backup", to=tmp_path / "backups")
    assert backups(tmp_path / "backups") == []
    assert list((tmp_path / "backups").iterdir()) == []
