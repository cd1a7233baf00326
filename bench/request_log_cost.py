"""The request log's costs in-process (issue #19). Prints figures; asserts nothing.

On PostgreSQL + Redis: the middleware's work per request (entry made and buffered), the
hand-off per entry (one ``XADD`` per batch of 100), and the task worker's drain and store
per entry, in batches of 100.

    .venv/bin/python bench/request_log_cost.py

Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (it creates and drops its
own database ``parley_logcost`` and uses Redis db 14; ``BENCH_DB_NAME`` and ``BENCH_REDIS_DB``
pick others).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = os.environ.get("BENCH_DB_NAME", "parley_logcost")
REDIS_DB = os.environ.get("BENCH_REDIS_DB", "14")
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
os.environ["REDIS_URL"] = f"redis://127.0.0.1:6379/{REDIS_DB}"
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
os.environ["API_REQUEST_LOG_BACKGROUND"] = "0"  # this script hands off and drains by hand


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql], check=True)


def per_call_us(fn: Callable[[], object], n: int = 20_000) -> float:
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1e6


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process on this host (PostgreSQL's backend), or ``None`` when unreadable."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    psql(f"DROP DATABASE IF EXISTS {DB_NAME}")
    psql(f"CREATE DATABASE {DB_NAME}")
    subprocess.run(["redis-cli", "-n", REDIS_DB, "flushdb"], check=True, capture_output=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from django.http import HttpResponse
    from django.test import RequestFactory

    from apikeys import middleware, usage
    from core.context import request_state
    from tests import factories

    try:
        key, _ = factories.make_key(factories.make_workspace(name="Bench"))
        request = RequestFactory().get("/api/v1/me?limit=3", HTTP_USER_AGENT="python-requests/2.32")
        state = request_state(request)
        state.key_id, state.request_id = key.pk, "0123456789abcdef0123456789abcdef"
        response = HttpResponse()
        log = middleware.RequestLogMiddleware(lambda _: response)
        print(f"middleware (entry made and buffered): {per_call_us(lambda: log(request)):.1f} us a request")
        usage.buffer.take()
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        hand_off, drain = [], []
        drain_cpu, backend_cpu = 0.0, 0.0
        rounds = 30
        for _ in range(rounds):
            for _ in range(100):
                log(request)
            entries = usage.buffer.take()
            started = time.perf_counter()
            usage._hand_off(entries)
            hand_off.append(time.perf_counter() - started)
            started, cpu, pg = time.perf_counter(), time.thread_time(), cpu_seconds(backend)
            usage.drain(consumer="bench")
            drain.append(time.perf_counter() - started)
            drain_cpu += time.thread_time() - cpu
            pg_after = cpu_seconds(backend)
            if pg is not None and pg_after is not None:
                backend_cpu += pg_after - pg
        print(f"hand-off (one XADD of 100 entries): {statistics.median(hand_off) * 1e4:.1f} us an entry")
        print(f"drain and store, 100 at a time (the task worker): {statistics.median(drain) * 1e4:.0f} us an entry")
        entries_stored = rounds * 100
        print(
            f"  of which CPU: {drain_cpu / entries_stored * 1e6:.0f} us in the worker, "
            f"{backend_cpu / entries_stored * 1e6:.0f} us in its PostgreSQL backend (same host; clock ticks of 10 ms)"
        )
    finally:
        from django.db import connections

        connections.close_all()
        psql(f"DROP DATABASE IF EXISTS {DB_NAME}")


if __name__ == "__main__":
    main()
