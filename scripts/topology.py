"""The production topology on 127.0.0.1: app processes with production settings (collected
static files, JSON logs), the task worker and nginx rendered from the deployment's own template
(compose/nginx/adt.conf.template), all stopped on exit.

Plain Python (no pytest), so `make bench` can start the same topology.
"""

import http.cookiejar
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path

from scripts.servers import ROOT, AppServer, _wait, free_port

TEMPLATE = ROOT / "compose" / "nginx" / "adt.conf.template"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_available() -> bool:
    return os.path.exists(NGINX)


def production_environment(base: dict, *, static_root: Path, nginx_port: int) -> dict:
    """Production settings for a site served over plain HTTP on 127.0.0.1 (HTTPS is the
    proxy's business in a real deployment, so its redirect and secure cookies are off here)."""
    return {
        **base,
        "DJANGO_ENV": "production",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_BASE_URL": f"http://127.0.0.1:{nginx_port}",
        "CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{nginx_port}",
        "STATIC_ROOT": str(static_root),
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_FORMAT": "json",
    }


def collect_static(env: dict) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )


def render_site(
    *, upstreams: list[int], listen: int, static_root: Path, max_body: str = "128m"
) -> str:
    """The template rendered as `compose/render-nginx-site` renders it for a plain server."""
    env = {
        **os.environ,
        "ADT_APP_PORTS": " ".join(str(port) for port in upstreams),
        "ADT_LISTEN": f"127.0.0.1:{listen}",
        "ADT_SERVER_NAME": "_",
        "ADT_STATIC_ROOT": f"{static_root}/",
        "ADT_MAX_BODY": max_body,
    }
    result = subprocess.run(
        ["bash", str(ROOT / "compose" / "render-nginx-site")],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


class Nginx:
    """nginx in the foreground with its own prefix: no system file is read or written."""

    def __init__(self, *, site: str, port: int, directory: Path):
        self.port, self.directory = port, directory
        self.url = f"http://127.0.0.1:{port}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "site.conf").write_text(site)
        # As root, nginx's workers would drop to "nobody", who cannot read the test's folders.
        user = "user root;\n" if os.geteuid() == 0 else ""
        (directory / "nginx.conf").write_text(
            f"{user}worker_processes 1;\ndaemon off;\npid {directory}/nginx.pid;\n"
            f"error_log {directory}/error.log warn;\n"
            "events { worker_connections 512; }\n"
            "http {\n"
            "  include /etc/nginx/mime.types;\n"
            "  default_type application/octet-stream;\n"
            f"  client_body_temp_path {directory}/body;\n"
            f"  proxy_temp_path {directory}/proxy;\n"
            f"  fastcgi_temp_path {directory}/fastcgi;\n"
            f"  uwsgi_temp_path {directory}/uwsgi;\n"
            f"  scgi_temp_path {directory}/scgi;\n"
            f"  include {directory}/site.conf;\n"
            "}\n"
        )
        self.log_path = directory / "nginx.out"
        self.process = None

    def start(self) -> None:
        command = [NGINX, "-p", str(self.directory), "-c", str(self.directory / "nginx.conf")]
        check = subprocess.run([*command, "-t"], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx refused its configuration:\n{check.stderr}")
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        _wait(self.answers, seconds=15, what=f"nginx on {self.port}")

    def answers(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"nginx exited early:\n{self.log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def access_log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


class Worker:
    """`manage.py db_worker`, as the compose file and the systemd unit run it."""

    def __init__(self, *, env: dict, log_path: Path):
        self.log_path = log_path
        log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--no-reload"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


class Topology:
    def __init__(self, *, apps: list[AppServer], worker: Worker, nginx: Nginx):
        self.apps, self.worker, self.nginx = apps, worker, nginx

    @property
    def url(self) -> str:
        return self.nginx.url


@contextmanager
def production_topology(*, base_env: dict, directory: Path, apps: int = 2, max_body: str = "128m"):
    """`apps` uvicorn processes, the worker and nginx in front, up when entered."""
    nginx_port = free_port()
    static_root = directory / "static"
    env = production_environment(base_env, static_root=static_root, nginx_port=nginx_port)
    collect_static(env)
    with ExitStack() as stack:
        servers = []
        for n in range(apps):
            server = AppServer(
                port=free_port(),
                env=env,
                log_path=directory / f"app-{n}.log",
                extra_args=("--proxy-headers", "--forwarded-allow-ips", "127.0.0.1"),
            )
            stack.callback(server.stop)
            servers.append(server)
        for server in servers:
            server.wait_until_up()
        worker = Worker(env=env, log_path=directory / "worker.log")
        stack.callback(worker.stop)
        site = render_site(
            upstreams=[server.port for server in servers],
            listen=nginx_port,
            static_root=static_root,
            max_body=max_body,
        )
        nginx = Nginx(site=site, port=nginx_port, directory=directory / "nginx")
        stack.callback(nginx.stop)
        nginx.start()
        yield Topology(apps=servers, worker=worker, nginx=nginx)


class Browser:
    """A person's browser over plain HTTP: cookies kept, CSRF token sent with forms."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def cookie(self, name: str) -> str:
        return next((c.value for c in self.cookies if c.name == name), "")

    def request(self, method: str, path: str, data=None, *, content_type=None, headers=None):
        """(status, headers, body text); an error status is returned, not raised."""
        body = None
        all_headers = {"Referer": f"{self.base_url}{path}", **(headers or {})}
        if data is not None:
            if content_type is None:
                body = urllib.parse.urlencode(data, doseq=True).encode()
                all_headers["Content-Type"] = "application/x-www-form-urlencoded"
            else:
                body, all_headers["Content-Type"] = data, content_type
            all_headers["X-CSRFToken"] = self.cookie("csrftoken")
        request = urllib.request.Request(
            f"{self.base_url}{path}", data=body, headers=all_headers, method=method
        )
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.headers, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode(errors="replace")

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, data: dict):
        return self.request("POST", path, {**data, "csrfmiddlewaretoken": self.cookie("csrftoken")})

    def log_in(self, username: str, password: str) -> None:
        self.get("/admin/login/")
        status, _headers, body = self.post(
            "/admin/login/?next=/admin/",
            {"username": username, "password": password, "next": "/admin/"},
        )
        if status != 200 or not self.cookie("sessionid"):
            said = re.findall(r'(?s)class="[^"]*errornote[^"]*"[^>]*>(.*?)<', body)
            raise AssertionError(f"logging in as {username} failed: {status} {said} {body[:800]}")

    def upload(self, path: str, fields: dict, file_field: str, file_path: Path):
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in {**fields, "csrfmiddlewaretoken": self.cookie("csrftoken")}.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
            f'filename="{file_path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        parts.append(head.encode() + file_path.read_bytes() + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request(
            "POST",
            path,
            b"".join(parts),
            content_type=f"multipart/form-data; boundary={boundary}",
        )


def static_paths(html: str) -> list[str]:
    """The collected (hashed) static files a page links to."""
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


def wait_for(condition, *, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise AssertionError(f"gave up after {seconds} s waiting for {what}")
