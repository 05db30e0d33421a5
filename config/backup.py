"""Backups of a site: the database and the uploaded files together, and their restore into an
empty instance (`manage.py backup`, `manage.py restore`; compose/backup wraps them).

A backup is a folder `adt-backup-<UTC time>/` holding
    database.dump     pg_dump's custom format (PostgreSQL), or database.sqlite3 (embedded)
    media.tar.gz      every uploaded file under MEDIA_ROOT
    manifest.json     when, which engine, the latest migration of each app, and per file its
                      size and SHA-256
It is written under a `.partial` name and renamed when complete, so a backup that died half-way
is never mistaken for one.

Consistency: the database is dumped first (one snapshot), the files after. A file is written
before the row that names it commits and is never changed or removed afterwards, so every file
the snapshot names is in the archive; a file uploaded in between is an unnamed extra, harmless.
"""

import datetime
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection

PREFIX = "adt-backup-"
PARTIAL = ".partial"
MANIFEST = "manifest.json"
PG_DUMP, SQLITE_FILE, MEDIA_ARCHIVE = "database.dump", "database.sqlite3", "media.tar.gz"


class BackupError(Exception):
    """A backup or a restore that cannot be done, with what to do about it."""


@dataclass(frozen=True)
class Backup:
    path: Path
    manifest: dict

    @property
    def created_at(self) -> str:
        return self.manifest["created_at"]

    @property
    def size(self) -> int:
        return sum(item.stat().st_size for item in self.path.iterdir())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pg_environment() -> dict:
    db = settings.DATABASES["default"]
    env = {**os.environ, "PGDATABASE": db["NAME"], "PGUSER": db.get("USER") or ""}
    env.update(
        {
            key: str(value)
            for key, value in (
                ("PGPASSWORD", db.get("PASSWORD")),
                ("PGHOST", db.get("HOST")),
                ("PGPORT", db.get("PORT")),
            )
            if value
        }
    )
    return env


def _run(command: list[str], **kwargs) -> None:
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)
    except FileNotFoundError:
        raise BackupError(
            f"{command[0]} is not installed: install the PostgreSQL client of the server's "
            "version (it must not be older than the server)."
        ) from None
    except subprocess.CalledProcessError as error:
        raise BackupError(f"{command[0]} failed: {error.stderr.strip()}") from None


def _latest_migrations() -> dict[str, str]:
    from django.db.migrations.recorder import MigrationRecorder

    latest: dict[str, str] = {}
    for app, name in MigrationRecorder(connection).applied_migrations():
        latest[app] = max(latest.get(app, ""), name)
    return dict(sorted(latest.items()))


def _media_files(root: Path) -> dict[str, dict]:
    if not root.is_dir():
        return {}
    return {
        str(path.relative_to(root)): {"size": path.stat().st_size, "sha256": _sha256(path)}
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def backups(directory: Path) -> list[Backup]:
    """The complete backups in `directory`, oldest first."""
    found = []
    if directory.is_dir():
        for path in sorted(directory.glob(f"{PREFIX}*")):
            if path.name.endswith(PARTIAL) or not (path / MANIFEST).is_file():
                continue
            found.append(Backup(path, json.loads((path / MANIFEST).read_text())))
    return found


def make_backup(directory: Path, *, keep: int | None = None) -> Backup:
    """A new backup in `directory`; then only the `keep` newest are kept."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    final = directory / f"{PREFIX}{now:%Y%m%d-%H%M%S-%f}"
    partial = final.with_name(final.name + PARTIAL)
    partial.mkdir()
    try:
        if connection.vendor == "postgresql":
            _run(
                ["pg_dump", "--format=custom", "--no-owner", "--file", str(partial / PG_DUMP)],
                env=_pg_environment(),
            )
            database = PG_DUMP
        elif connection.vendor == "sqlite":
            # SQLite's online backup: a consistent copy while the product keeps running.
            source = sqlite3.connect(settings.DATABASES["default"]["NAME"])
            target = sqlite3.connect(partial / SQLITE_FILE)
            with target:
                source.backup(target)
            source.close()
            target.close()
            database = SQLITE_FILE
        else:
            raise BackupError(f"backing up a {connection.vendor} database is not supported")
        media_root = Path(settings.MEDIA_ROOT)
        files = _media_files(media_root)
        with tarfile.open(partial / MEDIA_ARCHIVE, "w:gz") as archive:
            for name in files:
                archive.add(media_root / name, arcname=name, recursive=False)
        manifest = {
            "created_at": now.isoformat(),
            "engine": connection.vendor,
            "database": database,
            "database_sha256": _sha256(partial / database),
            "migrations": _latest_migrations(),
            "media": files,
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if keep:
        for old in backups(directory)[:-keep]:
            shutil.rmtree(old.path)
    return Backup(final, manifest)


def _database_is_empty() -> bool:
    return "django_migrations" not in connection.introspection.table_names()


def restore_backup(path: Path) -> Backup:
    """Restore the backup at `path` into this instance, whose database and media folder must
    be empty (a new instance, or one wiped on purpose)."""
    if not (path / MANIFEST).is_file():
        raise BackupError(f"{path} is not a complete backup (it has no {MANIFEST}).")
    backup = Backup(path, json.loads((path / MANIFEST).read_text()))
    manifest = backup.manifest
    if manifest["engine"] != connection.vendor:
        raise BackupError(
            f"this backup is of a {manifest['engine']} database; this instance uses "
            f"{connection.vendor}."
        )
    database = path / manifest["database"]
    if _sha256(database) != manifest["database_sha256"]:
        raise BackupError(f"{database} is damaged: its checksum differs from the manifest's.")
    if not _database_is_empty():
        raise BackupError(
            "the database is not empty: restore into a new database (or drop and create it "
            "again first); nothing was changed."
        )
    media_root = Path(settings.MEDIA_ROOT)
    if media_root.is_dir() and any(media_root.iterdir()):
        raise BackupError(f"the media folder {media_root} is not empty; nothing was changed.")

    if connection.vendor == "postgresql":
        connection.close()
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                "--dbname",
                _pg_environment()["PGDATABASE"],
                str(database),
            ],
            env=_pg_environment(),
        )
    else:
        connection.close()
        shutil.copyfile(database, settings.DATABASES["default"]["NAME"])

    media_root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path / MEDIA_ARCHIVE, "r:gz") as archive:
        archive.extractall(media_root, filter="data")
    restored = _media_files(media_root)
    if restored != manifest["media"]:
        raise BackupError("the restored files differ from the manifest: the archive is damaged.")
    return backup
