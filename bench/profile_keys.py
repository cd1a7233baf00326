"""In-process cost of the key check: µs per request through the WSGI handler, and a cProfile of it.

Calls Django's WSGI application directly (no sockets, no gunicorn), so the figures
are the Python a worker spends per request, free of the client's and the network's
noise on a shared machine:

    .venv/bin/python bench/profile_keys.py [--requests 3000] [--profile] [--top 30]

It prints the median µs per request of ``/bench/baseline`` (no key) and
``GET /api/v1/me`` (a cached key, rate limiting on), in rounds, and their
difference: the cost of the key check. ``--profile`` adds a cProfile of the keyed
requests, sorted by own time. Needs PostgreSQL and Redis on 127.0.0.1 (it creates
and drops the database ``parley_keyfast_prof`` and uses Redis db 9; override with
``--database`` and ``--redis-db``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def environ(path: str, headers: dict[str, str]) -> dict[str, Any]:
    env = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    env.update({"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()})
    return env


def call(app: Any, path: str, headers: dict[str, str]) -> str:
    status: list[str] = []
    body = app(environ(path, headers), lambda s, h, exc_info=None: status.append(s))
    b"".join(body)
    if hasattr(body, "close"):
        body.close()
    return status[0]


def per_request_us(app: Any, path: str, headers: dict[str, str], n: int) -> float:
    """CPU µs of this process per request (waits for Redis or PostgreSQL excluded; other load too)."""
    started = time.process_time()
    for _ in range(n):
        call(app, path, headers)
    return (time.process_time() - started) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--callers", default="", help="with --profile: print who calls functions matching this")
    parser.add_argument("--database", default="parley_keyfast_prof")
    parser.add_argument("--redis-db", default="9")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:6379/{args.redis_db}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ.setdefault("API_RATE_LIMIT", "100000000/h")  # rate limiting on, never reached

    def psql(sql: str) -> None:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql], check=True)

    psql(f"DROP DATABASE IF EXISTS {args.database}")
    psql(f"CREATE DATABASE {args.database}")
    subprocess.run(["redis-cli", "-n", args.redis_db, "flushdb"], check=True, capture_output=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    try:
        import django

        django.setup()
        from django.core.wsgi import get_wsgi_application

        from tests import factories

        app = get_wsgi_application()
        workspace = factories.make_workspace(name="Bench")
        _key, plain = factories.make_key(workspace)
        keyed = {"Authorization": f"Bearer {plain}"}
        for path, headers in (("/api/v1/me", keyed), ("/bench/baseline", {})):
            status = call(app, path, headers)
            assert status.startswith("200"), (path, status)
            per_request_us(app, path, headers, 200)  # warm up
        me, base = [], []
        for _ in range(args.rounds):
            me.append(per_request_us(app, "/api/v1/me", keyed, args.requests))
            base.append(per_request_us(app, "/bench/baseline", {}, args.requests))
        m, b = statistics.median(me), statistics.median(base)
        extra = statistics.median(x - y for x, y in zip(me, base, strict=True))
        print(f"in-process CPU, {args.rounds} rounds x {args.requests} requests (median):")
        print(f"  /bench/baseline  {b:7.0f} us/request   rounds {' '.join(f'{x:.0f}' for x in base)}")
        print(f"  /api/v1/me       {m:7.0f} us/request   rounds {' '.join(f'{x:.0f}' for x in me)}")
        print(f"  key check costs  {extra:7.0f} us/request over the baseline (median of the rounds' differences)")
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            per_request_us(app, "/api/v1/me", keyed, args.requests)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
            print(out.getvalue())
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
            print(out.getvalue())
            if args.callers:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).print_callers(args.callers)
                print(out.getvalue())
    finally:
        from django.db import connections

        from core.dbhealth import database_health

        database_health.stop()
        connections.close_all()
        psql(f"DROP DATABASE IF EXISTS {args.database}")


if __name__ == "__main__":
    main()
