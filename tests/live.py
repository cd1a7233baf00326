"""Real server processes (gunicorn) for multi-process tests and the benchmark.

They run the test settings against the *test* database pytest-django created and
the shared Redis, exactly as production app hosts share PostgreSQL and Redis.
"""

from __future__ import annotations

import collections
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def _server_env(env: dict[str, str] | None) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "PYTHONUNBUFFERED": "1",
        "API_REQUEST_LOG_BACKGROUND": "1",  # the request log's own threads, as in production
        **(env or {}),
    }


def start_task_worker(*, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``manage.py db_worker`` on the test database, as production runs it; stop it with stop_server."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--interval", "0.2"],
        cwd=ROOT,
        env=_server_env(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def start_server(*, workers: int = 1, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """Start gunicorn on a free port; returns the process and its base URL once it answers."""
    port = free_port()
    full_env = _server_env(env)
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.Popen(
        [
            gunicorn,
            "-c",
            "config/gunicorn.py",
            "config.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # Drained all along: a server that logs more than the pipe holds (64 KiB of 4xx warnings
    # under load) would otherwise block on its next write and stop answering.
    tail: collections.deque[bytes] = collections.deque(maxlen=64)
    drain = threading.Thread(target=lambda: tail.extend(proc.stderr), daemon=True)  # type: ignore[arg-type]  # stderr=PIPE above
    drain.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            drain.join(timeout=5)
            raise RuntimeError(f"gunicorn exited: {b''.join(tail).decode()[-2000:]}")
        try:
            if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                return proc, url
        except requests.RequestException:
            time.sleep(0.1)
    stop_server(proc)
    raise RuntimeError("gunicorn did not start in 40 s")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
