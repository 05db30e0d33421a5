"""A real uvicorn server on 127.0.0.1 with the demo data and the background worker beside it,
and Chromium to drive it.

The server runs in its own process on its own database (a fresh PostgreSQL database when the
suite runs on PostgreSQL), migrated and seeded through the same commands `make run` uses.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "en-US", "viewport": {"width": 1400, "height": 900}}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Database:
    """A throwaway database for the server process: PostgreSQL like the suite, else SQLite."""

    def __init__(self, data_dir: Path):
        self.config = settings.DATABASES["default"]
        self.is_postgresql = self.config["ENGINE"] == "django.db.backends.postgresql"
        self.name = f"adt_browser_{uuid.uuid4().hex[:8]}"
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

    def create(self) -> str:
        if not self.is_postgresql:
            return f"sqlite:///{self.data_dir / 'browser.sqlite3'}"
        with self._admin_connection() as connection:
            connection.execute(f'CREATE DATABASE "{self.name}"')
        c = self.config
        return f"postgres://{c['USER']}:{c['PASSWORD']}@{c['HOST']}:{c['PORT'] or 5432}/{self.name}"

    def drop(self) -> None:
        if self.is_postgresql:
            with self._admin_connection() as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def live_server_url(tmp_path_factory) -> str:
    data_dir = tmp_path_factory.mktemp("server")
    database = _Database(data_dir)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(DATA_DIR=str(data_dir), DATABASE_URL=database.create(), PYTHONUNBUFFERED="1")
    # Every session seeds the same demo: figures another session kept must not be shown.
    env["DASHBOARD_FIGURES_SECONDS"] = "0"
    port = _free_port()
    log = (data_dir / "server.log").open("w")
    server = worker = None
    try:
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
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.2"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{url}/healthz", server, data_dir / "server.log")
        yield url
    finally:
        for process in (server, worker):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=20)
        log.close()
        database.drop()


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
