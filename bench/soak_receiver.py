"""The soak's webhook receiver on 127.0.0.1: keeps every delivery, answers 200, or holds one unanswered.

A delivery counts as *received* only once the 200 has been written back to a live
connection: the one held while the task worker is SIGKILLed is kept apart, never
answered, and must come again (same ``webhook-id``) for its event not to be missing.
Signatures are checked afterwards (``verify``), as a Standard Webhooks receiver would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOOPBACK = "127.0.0.1"


@dataclass
class Received:
    at: float
    path: str
    webhook_id: str
    timestamp: str
    signature: str
    body: bytes
    answered: bool = False  # a 200 went back to a live connection
    held: bool = False  # kept unanswered while the worker was killed

    def data(self) -> dict[str, Any]:
        try:
            parsed = json.loads(self.body)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}


def signature_ok(secret: str, item: Received) -> bool:
    """Standard Webhooks: ``v1,<base64 HMAC-SHA256(secret, "id.timestamp.body")>`` among the signatures sent."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{item.webhook_id}.{item.timestamp}.".encode() + item.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    sent = [part.partition(",")[2] for part in item.signature.split() if part.startswith("v1,")]
    return any(hmac.compare_digest(expected, s) for s in sent)


@dataclass
class Receiver:
    port: int = 0
    items: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _hold: bool = False
    _held: threading.Event = field(default_factory=threading.Event)
    _release: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, 1 << 20))
                item = Received(
                    at=time.time(),
                    path=self.path,
                    webhook_id=self.headers.get("webhook-id", ""),
                    timestamp=self.headers.get("webhook-timestamp", ""),
                    signature=self.headers.get("webhook-signature", ""),
                    body=body,
                )
                with receiver.lock:
                    hold = receiver._hold and item.path == "/hook"
                    if hold:
                        receiver._hold, item.held = False, True
                    receiver.items.append(item)
                if hold:
                    receiver._held.set()
                    receiver._release.wait(30)  # the worker is killed meanwhile: nobody reads an answer
                    self.close_connection = True
                    return
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", "2")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(b"ok")
                    self.wfile.flush()
                    item.answered = True
                except OSError:
                    pass
                self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

        self._server = Server((LOOPBACK, self.port), Handler)
        self.port = int(self._server.server_address[1])
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="soak-receiver", daemon=True
        ).start()
        return self

    def hold_next(self) -> None:
        """The next delivery to /hook is received and left unanswered until ``release``."""
        self._held.clear()
        self._release.clear()
        with self.lock:
            self._hold = True

    def wait_held(self, timeout: float) -> Received | None:
        if not self._held.wait(timeout):
            with self.lock:
                self._hold = False
            return None
        with self.lock:
            return next(item for item in reversed(self.items) if item.held)

    def release(self) -> None:
        self._release.set()

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.items)

    def answered_contact_ids(self) -> set[str]:
        """The ids of the contacts whose ``contact.created`` was delivered and answered."""
        return {
            str(item.data().get("data", {}).get("id"))
            for item in self.snapshot()
            if item.answered and item.path == "/hook" and item.data().get("type") == "contact.created"
        }

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
