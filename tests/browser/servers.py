"""The machinery of the browser tests' servers: a seeded copy of the demo for each (see
`SeededCopy`), free ports, waiting for a server to answer. The fixtures are in conftest.py."""

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

from django.conf import settings

from tests.workers import locked, shared_root

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Database:
    """A throwaway database for the server process: PostgreSQL like the suite, else SQLite."""

    def __init__(self, data_dir: Path, name: str = ""):
        self.config = settings.DATABASES["default"]
        self.is_postgresql = self.config["ENGINE"] == "django.db.backends.postgresql"
        self.name = name or f"adt_browser_{uuid.uuid4().hex[:8]}"
        self.data_dir = data_dir

    def _admin_connection(self):
        import psycopg

        return psycopg.connect(
            host=self.config["HOST"],
            port=self.config["PORT"] or 5432,
            user=self.config["USER"],
            password=self.config["PASSWORD"],
            dbname="postgres",
            autocommit=True,
        )

    def create(self, template: str = "") -> str:
        """The new database's URL; on PostgreSQL a copy of `template` when one is named (on
        SQLite, the file copied with the data folder)."""
        if not self.is_postgresql:
            return f"sqlite:///{self.data_dir / 'browser.sqlite3'}"
        copy_of = f' TEMPLATE "{template}"' if template else ""
        with self._admin_connection() as connection:
            connection.execute(f'CREATE DATABASE "{self.name}"{copy_of}')
            # A throwaway database: its commits need not wait for the disk (tests/conftest.py).
            connection.execute(f'ALTER DATABASE "{self.name}" SET synchronous_commit = off')
        c = self.config
        return f"postgres://{c['USER']}:{c['PASSWORD']}@{c['HOST']}:{c['PORT'] or 5432}/{self.name}"

    def drop(self) -> None:
        if self.is_postgresql:
            with self._admin_connection() as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def _seed_commands(env: dict, log) -> None:
    for command in (["migrate", "--no-input"], ["seed_demo"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=300,
        )


def _server_env(data_dir: Path, database_url: str) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(DATA_DIR=str(data_dir), DATABASE_URL=database_url, PYTHONUNBUFFERED="1")
    # Every session seeds the same demo: figures another session kept must not be shown.
    env["DASHBOARD_FIGURES_SECONDS"] = "0"
    return env


class SeededCopy:
    """A database and a data folder holding the migrated demo, for one server.

    The demo is migrated and seeded once per run (by whichever test process needs it first,
    the others waiting on a lock), into a template; each server gets a copy of it: a PostgreSQL
    database made from the template, and a copy of the template's data folder (its uploads and
    development secret; on SQLite, its database file too)."""

    def __init__(self, tmp_path_factory, name: str):
        self.data_dir = tmp_path_factory.mktemp(name)
        self.database = _Database(self.data_dir)
        template = _Template(shared_root(tmp_path_factory))
        with locked(template.root / "lock"):
            template.build()
            shutil.copytree(template.data_dir, self.data_dir, dirs_exist_ok=True)
            self.database_url = self.database.create(template=template.database.name)
        self.env = _server_env(self.data_dir, self.database_url)

    def drop(self) -> None:
        self.database.drop()


class _Template:
    def __init__(self, run_root: Path):
        self.root = run_root / "seeded-demo"
        self.data_dir = self.root / "data"
        self.database = _Database(self.data_dir, name=template_name(run_root))

    def build(self) -> None:
        ready = self.root / "ready"
        if ready.exists():
            return
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir.mkdir()
        self.database.drop()
        env = _server_env(self.data_dir, self.database.create())
        with (self.root / "seed.log").open("w") as log:
            _seed_commands(env, log)
        ready.touch()


def seed_in_background(tmp_path_factory) -> None:
    """Migrate and seed the run's template now, beside the first tests. The browser tests run
    last; left to them, the first one to need the template would build it while the other test
    processes wait on its lock with their cores idle. A build that fails here is tried again by
    the first browser test, which then says what failed."""
    template = _Template(shared_root(tmp_path_factory))

    def build() -> None:
        try:
            with locked(template.root / "lock"):
                template.build()
        except Exception:  # built again, and reported, where it is needed
            return

    threading.Thread(target=build, name="seed-demo", daemon=True).start()


def template_name(run_root: Path) -> str:
    """The template database of one run (named after the run's folder, so that two runs on one
    PostgreSQL never share or drop each other's)."""
    return "adt_browser_tpl_" + hashlib.sha256(str(run_root).encode()).hexdigest()[:12]


def drop_template(run_root: Path) -> None:
    _Database(run_root, name=template_name(run_root)).drop()


def _wait_until_up(url: str, server: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"uvicorn exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"uvicorn did not answer {url} within {seconds} s:\n{log.read_text()}")
