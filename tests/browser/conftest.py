"""A real uvicorn server on 127.0.0.1 with the demo data and the background worker beside it,
and Chromium to drive it.

The server runs in its own process on its own database (a PostgreSQL database when the suite
runs on PostgreSQL), a copy of one migrated and seeded once per run through the same commands
`make run` uses.
"""

import subprocess
import sys

import pytest

from tests.browser.servers import ROOT, SeededCopy, _free_port, _wait_until_up

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


@pytest.fixture(scope="session")
def live_server_url(tmp_path_factory) -> str:
    copy = SeededCopy(tmp_path_factory, "server")
    env, data_dir = copy.env, copy.data_dir
    port = _free_port()
    log = (data_dir / "server.log").open("w")
    server = worker = None
    try:
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
        copy.drop()
