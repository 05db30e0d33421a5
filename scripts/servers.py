"""Real processes on 127.0.0.1 for the chat: uvicorn serving the application (as `make run`
does), a Redis of one's own that can be stopped and started again, and room clients that speak
the wire of DESIGN.md (Chat) over real sockets, as a page does: the session cookie of a
logged-in person and an Origin header.

Plain Python (no pytest), so `make bench` starts its servers and clients the same way.
"""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import websockets

ROOT = Path(__file__).resolve().parents[1]
ORIGIN = "http://127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(settings_dict: dict) -> str:
    """The URL of the database a Django connection uses (the test database during tests)."""
    quote = urllib.parse.quote
    user, password = (
        quote(settings_dict["USER"], safe=""),
        quote(settings_dict["PASSWORD"], safe=""),
    )
    host, port = settings_dict["HOST"] or "127.0.0.1", settings_dict["PORT"] or 5432
    return f"postgres://{user}:{password}@{host}:{port}/{settings_dict['NAME']}"


def _wait(condition, *, seconds: float, what: str, step: float = 0.05):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(step)
    raise TimeoutError(f"gave up after {seconds} s waiting for {what}")


class AppServer:
    """One uvicorn process of config.asgi:application."""

    def __init__(self, *, port: int, env: dict, log_path: Path, extra_args: tuple = ()):
        self.port, self.log_path = port, log_path
        self.url = f"http://127.0.0.1:{port}"
        log = log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--ws",
                "websockets-sansio",
                "--lifespan",
                "off",
                *extra_args,
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def answers(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"uvicorn on {self.port} exited early:\n{self.log_text()}")
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def wait_until_up(self, seconds: float = 30) -> None:
        try:
            _wait(self.answers, seconds=seconds, what=f"{self.url}/healthz", step=0.1)
        except TimeoutError as error:
            raise TimeoutError(f"{error}\n{self.log_text()}") from None

    def kill(self) -> None:
        """SIGKILL: the process dies as in a crash, without closing its sockets cleanly."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def server_environment(*, database_url: str, redis_url: str, data_dir: Path, **extra) -> dict:
    """What an app process needs to share the caller's data: the database, Redis, and the
    secret that signs the sessions of the people the caller logged in; `extra` settings of
    the environment on top."""
    from django.conf import settings

    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY=settings.SECRET_KEY,
        DATA_DIR=str(data_dir),
        MEDIA_ROOT=str(data_dir / "media"),
        DEBUG="false",
        PYTHONUNBUFFERED="1",
    )
    env.update({key: str(value) for key, value in extra.items()})
    return env


@contextmanager
def app_servers(count: int, *, env: dict, log_dir: Path, extra_args: tuple = ()):
    """`count` uvicorn processes on free ports, up (answering /healthz) when entered, always
    stopped on exit."""
    servers = []
    try:
        for n in range(count):
            servers.append(
                AppServer(
                    port=free_port(),
                    env=env,
                    log_path=log_dir / f"uvicorn-{n}.log",
                    extra_args=extra_args,
                )
            )
        for server in servers:
            server.wait_until_up()
        yield servers
    finally:
        for server in servers:
            server.stop()


class RedisServer:
    """A redis-server of one's own on a free port, without persistence: stopping it loses
    everything it held, as a restart of a Redis without a disk does."""

    def __init__(self, log_dir: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = log_dir / f"redis-{self.port}.log"
        self.process = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        _wait(self.answers, seconds=10, what=f"redis-server on {self.port}")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def http_get(server: AppServer, path: str, session: str) -> tuple[int, str]:
    """GET `path` of `server` as the person whose session it is; the status and the body."""
    request = urllib.request.Request(
        f"{server.url}{path}", headers={"Cookie": f"sessionid={session}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def http_send(server: AppServer, subject_path: str, session: str, text: str, client_id: str):
    """POST a message to the chat's HTTP send endpoint of `server` as the person whose session
    it is; returns the status and the JSON answer."""
    token = uuid.uuid4().hex  # any well-formed CSRF secret, sent as cookie and header alike
    request = urllib.request.Request(
        f"{server.url}/admin/chat/rooms/{subject_path}/send/",
        data=urllib.parse.urlencode({"text": text, "client_id": client_id}).encode(),
        headers={
            "Cookie": f"sessionid={session}; csrftoken={token}",
            "X-CSRFToken": token,
            "Content-Type": "application/x-www-form-urlencoded",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


class RoomClient:
    """One open page of a room: it connects (which subscribes it), then resumes after the last
    id it has, and keeps every message frame it is sent, in arrival order, over all its
    connections; `received` may therefore show a duplicate or a gap, which callers count."""

    def __init__(self, path: str, session: str, name: str = ""):
        self.path, self.session, self.name = path, session, name
        self.received: list[dict] = []
        self.errors: list[dict] = []
        self.presences: list[dict] = []  # presence frames: who is in the room, who is online
        self.arrivals: dict[str, float] = {}  # client_id -> perf_counter() at arrival
        self.last_frame_at = time.monotonic()  # of any frame, presence too
        self.socket = None
        self.reader = None
        self._changed = asyncio.Event()

    @property
    def last_id(self) -> int:
        return self.received[-1]["id"] if self.received else 0

    @property
    def connected(self) -> bool:
        return self.reader is not None and not self.reader.done()

    async def connect(self, server: AppServer, *, resume: bool = True, timeout: float = 10):
        self.socket = await websockets.connect(
            server.ws_url(self.path),
            additional_headers={"Cookie": f"sessionid={self.session}"},
            origin=ORIGIN,
            open_timeout=timeout,
            max_size=2**22,
        )
        self.reader = asyncio.ensure_future(self._read(self.socket))
        if resume:
            await self.socket.send(json.dumps({"type": "resume", "after": self.last_id}))

    async def connect_with_retries(self, servers, *, seconds: float = 20) -> None:
        """Reconnect as a page does: the first of `servers` that accepts, retried until
        `seconds` have passed."""
        deadline = time.monotonic() + seconds
        while True:
            for server in servers:
                try:
                    await self.connect(server, timeout=2)
                    return
                except (TimeoutError, OSError, websockets.InvalidHandshake):
                    pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} could not reconnect within {seconds} s")
            await asyncio.sleep(0.2)

    async def _read(self, socket) -> None:
        try:
            async for raw in socket:
                frame = json.loads(raw)
                self.last_frame_at = time.monotonic()
                if frame["type"] == "message":
                    self.arrivals.setdefault(frame["client_id"], time.perf_counter())
                    self.received.append(frame)
                elif frame["type"] == "error":
                    self.errors.append(frame)
                elif frame["type"] == "presence":
                    self.presences.append(frame)
                self._changed.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self._changed.set()

    async def send(self, text: str, client_id: str | None = None) -> str:
        client_id = client_id or str(uuid.uuid4())
        await self.socket.send(json.dumps({"type": "send", "client_id": client_id, "text": text}))
        return client_id

    async def wait_until(self, condition, *, timeout: float = 10, what: str = "") -> None:
        async def watch():
            while not condition():
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(watch(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"{self.name}: gave up after {timeout} s waiting for {what or condition}; "
                f"received {[f['text'] for f in self.received]}, errors {self.errors}"
            ) from None

    async def wait_for_texts(self, count: int, *, timeout: float = 10) -> None:
        await self.wait_until(
            lambda: len(self.received) >= count, timeout=timeout, what=f"{count} messages"
        )

    async def wait_closed(self, *, timeout: float = 10) -> None:
        await self.wait_until(lambda: not self.connected, timeout=timeout, what="the close")

    async def quiet(self, seconds: float = 0.5) -> None:
        """Give anything still on its way `seconds` to arrive."""
        await asyncio.sleep(seconds)

    @property
    def online(self) -> set[str] | None:
        """Who the page shows online, by name, as the last presence frame said."""
        if not self.presences:
            return None
        return {m["name"] for m in self.presences[-1]["members"] if m["online"]}

    @property
    def texts(self) -> list[str]:
        return [frame["text"] for frame in self.received]

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        if self.reader is not None:
            await asyncio.wait([self.reader], timeout=5)
