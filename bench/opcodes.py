"""Python work of a warm key check, counted, not timed: bytecodes a request executes (issue #23).

Timings on a shared 2-core VM move by a quarter from one second to the next; the number of
bytecodes a request runs does not. This counts them (``sys.settrace`` with opcode events,
this thread only) for ``/bench/baseline`` and a warm ``GET /api/v1/me`` through Django's
WSGI handler, the production middleware chain (``bench.settings``), and prints the
difference, by function and by file: what the key check, its rate limit, its headers and
its request log entry add to a request. C work (SHA-256, the regex engine, the collector)
is not in these counts; ``valgrind --tool=callgrind`` measures that. Run it on a quiet
machine: the tracking connection's heartbeat (every 0.1 s) is read by whichever request
comes next, so on a busy one (each traced request slower) more requests count its reading.

    .venv/bin/python bench/opcodes.py [--requests 100] [--top 25]

Needs PostgreSQL and Redis on 127.0.0.1 (it creates and drops the database
``parley_opcodes`` and uses Redis db 7).
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "parley_opcodes"
SITE = f"{Path(sys.prefix)}/lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages/"


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql], check=True)


def count(app: Any, path: str, headers: dict[str, str], n: int) -> collections.Counter[tuple[str, str]]:
    """Bytecodes executed per (file, function) over ``n`` requests, after a warm-up."""
    from bench.profile_keys import call

    for _ in range(50):
        call(app, path, headers)
    counts: collections.Counter[tuple[str, str]] = collections.Counter()

    def tracer(frame: FrameType, event: str, arg: object) -> Any:
        frame.f_trace_opcodes = True
        if event == "opcode":
            code = frame.f_code
            counts[code.co_filename.replace(SITE, "").replace(f"{ROOT}/", ""), code.co_name] += 1
        return tracer

    sys.settrace(tracer)
    try:
        for _ in range(n):
            call(app, path, headers)
    finally:
        sys.settrace(None)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
    os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/7"
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["API_RATE_LIMIT"] = "100000000/h"  # rate limiting on, never reached
    # Hand-offs and rate-limit flushes run on their own clocks: tracing slows requests a
    # hundredfold, so they would run every few requests here instead of every 50 or 100.
    os.environ["API_REQUEST_LOG_BACKGROUND"] = "0"
    os.environ["API_RATE_LIMIT_FLUSH_MS"] = "100000"
    psql(f"DROP DATABASE IF EXISTS {DB_NAME}")
    psql(f"CREATE DATABASE {DB_NAME}")
    subprocess.run(["redis-cli", "-n", "7", "flushdb"], check=True, capture_output=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    try:
        import django

        django.setup()
        from django.core.wsgi import get_wsgi_application

        from tests import factories

        app = get_wsgi_application()
        _key, plain = factories.make_key(factories.make_workspace(name="Bench"))
        keyed = {"Authorization": f"Bearer {plain}"}
        count(app, "/api/v1/me", keyed, 1)  # first: the database connection exists for both
        base = count(app, "/bench/baseline", {}, args.requests)
        me = count(app, "/api/v1/me", keyed, args.requests)
        n = args.requests
        total_base, total_me = sum(base.values()) / n, sum(me.values()) / n
        print(f"bytecodes per request ({n} requests each, this thread):")
        print(f"  /bench/baseline  {total_base:8.0f}")
        print(f"  /api/v1/me       {total_me:8.0f}   (+{total_me - total_base:.0f}, {total_me / total_base - 1:+.1%})")
        diff = {k: (me[k] - base.get(k, 0)) / n for k in set(me) | set(base)}
        print(f"the largest additions, by function (of {len(diff)}):")
        for (filename, function), extra in sorted(diff.items(), key=lambda kv: -kv[1])[: args.top]:
            print(f"  {extra:+7.0f}  {filename}:{function}")
        by_file: collections.Counter[str] = collections.Counter()
        for (filename, _), extra in diff.items():
            by_file[filename] += extra
        print("by file:")
        for filename, extra in sorted(by_file.items(), key=lambda kv: -abs(kv[1]))[: args.top]:
            print(f"  {extra:+7.0f}  {filename}")
    finally:
        from django.db import connections

        from core.dbhealth import database_health

        database_health.stop()
        connections.close_all()
        psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


if __name__ == "__main__":
    main()
