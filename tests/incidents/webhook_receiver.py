"""A real HTTP receiver on 127.0.0.1 for the webhook tests: it answers with the statuses it is
told (one per request, the last repeated), checks each delivery's signature with the secret it
shares, and keeps what it received."""

import contextlib
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    signature_valid: bool

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def delivery(self) -> str:
        return self.headers["X-ADT-Delivery"]

    @property
    def event(self) -> str:
        return self.headers["X-ADT-Event"]


def signature_valid(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """Check X-ADT-Signature as a receiver is told to: `t` recent, `v1` the HMAC-SHA256 of
    "<t>.<body>" with the secret."""
    try:
        parts = dict(part.split("=", 1) for part in header.split(","))
        at = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - at) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass
class Receiver:
    secret: str
    statuses: list[int] = field(default_factory=lambda: [200])
    delay: float = 0.0
    trickle: float = 0.0  # seconds between the bytes of the answer's body
    answer_body: bytes = b"ok"
    headers: dict = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks/adt"

    def answer(self, *statuses: int) -> None:
        """Answer the next requests with these statuses (the last one thereafter)."""
        with self.lock:
            self.statuses = list(statuses)

    def _next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                valid = signature_valid(
                    receiver.secret, self.headers.get("X-ADT-Signature", ""), body
                )
                with receiver.lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body, valid))
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(receiver._next_status())
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(receiver.answer_body)))
                self.end_headers()
                # The sender may stop reading at its limit: fine.
                with contextlib.suppress(OSError):
                    if not receiver.trickle:
                        self.wfile.write(receiver.answer_body)
                    for byte in receiver.answer_body if receiver.trickle else b"":
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(receiver.trickle)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
