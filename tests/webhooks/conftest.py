"""Webhook fixtures: a real HTTP receiver on 127.0.0.1, the real worker, subscriptions made as the API makes them."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from accounts.actors import Actor
from webhooks.models import Delivery
from webhooks.services import hook_create
from webhooks.tasks import deliver


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each POST with the next of ``statuses`` (then ``default``) and keeps what it got."""

    port: int = 0
    statuses: list[int] = field(default_factory=list)
    default: int = 200
    headers_out: dict[str, str] = field(default_factory=dict)
    body_out: bytes = b""
    requests: list[Received] = field(default_factory=list)
    connections: int = 0
    # When set, the next POST is received and then left unanswered until ``release`` is set.
    hold_next: bool = False
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def next_status(self) -> int:
        return self.statuses.pop(0) if self.statuses else self.default


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            if receiver.hold_next:
                receiver.hold_next = False
                receiver.release.wait(30)
            self.send_response(receiver.next_status())
            for name, value in receiver.headers_out.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(receiver.body_out)))
            self.send_header("Connection", "close")
            self.end_headers()
            # Parley stops reading an oversized answer (it reads 64 KiB at most), as it should.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(receiver.body_out)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def verify_request(self, request: Any, client_address: Any) -> bool:
            state.connections += 1
            return True

    server = Server(("127.0.0.1", 0), _handler(state))
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def dev_targets(settings):
    """Development mode: http, any port and loopback targets are allowed (the receiver is on 127.0.0.1)."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_ALLOWED_PORTS = []
    return settings


@pytest.fixture
def production_targets(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    settings.WEBHOOK_ALLOWED_PORTS = []
    return settings


def subscribe(workspace, key, url: str, event: str = "contact.created"):
    """``(hook, secret)`` made as ``POST /api/v1/hooks`` makes it, with ``key`` (an ApiKey)."""
    return hook_create(
        workspace=workspace,
        actor=Actor.for_api_key(key_id=key.pk, hint=key.hint),
        key_id=key.pk,
        target_url=url,
        event=event,
    )


def run_worker() -> None:
    """``manage.py db_worker --batch``: runs every ready task, then exits (the worker's signal handlers undone)."""
    handled = [signal.SIGINT, signal.SIGTERM, signal.SIGQUIT]
    saved = {signum: signal.getsignal(signum) for signum in handled}
    try:
        call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def make_due(delivery: Delivery) -> None:
    """Move time forward for one delivery: its next attempt and its queued task are due now."""
    past = timezone.now() - timedelta(seconds=1)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=past)
    DBTaskResult.objects.filter(task_path=deliver.module_path, status=TaskResultStatus.READY).update(run_after=past)
