"""In-process cost of the key check: µs per request through the WSGI handler, and a cProfile of it.

Calls Django's WSGI application directly (no sockets, no gunicorn), with the production
middleware chain (``bench.settings`` is the production settings plus ``/bench/baseline``),
so the figures are the Python a worker spends per request, free of the client's and the
network's noise on a shared machine:

    .venv/bin/python bench/profile_keys.py [--requests 3000] [--rounds 5] [--cold] [--profile] [--top 30]

It prints the median µs per request of ``/bench/baseline`` (no key) and
``GET /api/v1/me`` (a cached key, rate limiting on), in rounds, and their
difference: the cost of the key check. Then where that difference goes: the key's
request log entry, django-prometheus and the JSON request log line (each measured
as the difference it makes to the keyed request's excess when switched off, or on:
the benchmark's servers log at WARNING, production at INFO), and µs per call of the
URL resolution, the invalidation poll and ``database_health.is_up()`` (what the
per-process database health view adds to each request). ``--cold`` also measures with
the CPU caches flushed before each request (what a gunicorn worker meets). ``--profile`` adds a cProfile
of the keyed requests, sorted by own time. Needs PostgreSQL and Redis on 127.0.0.1 (it
creates and drops the database ``parley_keyfast_prof`` and uses Redis db 9; override
with ``--database`` and ``--redis-db``).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import logging
import os
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
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


COLD = bytearray(16 * 1024 * 1024)  # --cold: touched between requests, as other processes would


def per_request_us(app: Any, path: str, headers: dict[str, str], n: int, *, cold: bool = False) -> float:
    """CPU µs of this process per request (waits for Redis or PostgreSQL excluded; other load too).

    ``cold``: the CPU caches are flushed before each request (16 MiB copied, not counted),
    as in a gunicorn worker whose client and neighbours run between its requests; only
    this thread's time is counted then.
    """
    if cold:
        spent = 0.0
        for _ in range(n):
            bytes(COLD)
            started = time.thread_time()
            call(app, path, headers)
            spent += time.thread_time() - started
        return spent / n * 1e6
    started = time.process_time()
    for _ in range(n):
        call(app, path, headers)
    return (time.process_time() - started) / n * 1e6


def per_call_us(fn: Callable[[], object], n: int) -> float:
    """CPU µs of this thread per call of ``fn``."""
    started = time.thread_time()
    for _ in range(n):
        fn()
    return (time.thread_time() - started) / n * 1e6


@contextlib.contextmanager
def request_log_line() -> Iterator[None]:
    """The JSON request log line at INFO, as production writes it (to /dev/null here)."""
    from pythonjsonlogger.json import JsonFormatter

    from core.logging import RedactSecretsFilter

    access = logging.getLogger("parley.request")
    with open(os.devnull, "w") as sink:
        handler = logging.StreamHandler(sink)
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RedactSecretsFilter())
        level, propagate = access.level, access.propagate
        access.addHandler(handler)
        access.setLevel(logging.INFO)
        access.propagate = False
        try:
            yield
        finally:
            access.removeHandler(handler)
            access.setLevel(level)
            access.propagate = propagate


def parts(app: Any, keyed: dict[str, str], n: int, rounds: int) -> None:
    """Where the keyed request's excess goes: each part switched off (or on), and direct timings.

    Each round measures the production chain and every variant back to back, so the
    machine's other load hits them alike; the figures are medians of the rounds' differences.
    """
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    no_prometheus = [m for m in settings.MIDDLEWARE if not m.startswith("django_prometheus.")]
    with override_settings(MIDDLEWARE=no_prometheus):
        app_no_prometheus = WSGIHandler()  # the chain loads the middleware as overridden
    variants: dict[str, tuple[Any, Callable[[], contextlib.AbstractContextManager[Any]]]] = {
        "chain": (app, contextlib.nullcontext),
        "log_off": (app, lambda: override_settings(API_REQUEST_LOG=False)),
        "prometheus_off": (app_no_prometheus, contextlib.nullcontext),
        "line_on": (app, request_log_line),
    }

    def excess(variant: str) -> float:
        handler, context = variants[variant]
        with context():
            keyed_us = per_request_us(handler, "/api/v1/me", keyed, n)
            return keyed_us - per_request_us(handler, "/bench/baseline", {}, n)

    for variant in variants:
        excess(variant)  # warm up
    samples: dict[str, list[float]] = {variant: [] for variant in variants}
    for _ in range(rounds):
        for variant in variants:
            samples[variant].append(excess(variant))
    chain = statistics.median(samples["chain"])

    def share(variant: str, sign: int) -> str:
        paired = statistics.median(sign * (c - v) for c, v in zip(samples["chain"], samples[variant], strict=True))
        return f"{paired:6.0f} us (the excess then: {statistics.median(samples[variant]):.0f})"

    print(f"where the keyed request's excess goes ({rounds} rounds x {n} requests, medians of paired differences):")
    print(f"  production chain            {chain:6.0f} us over the baseline")
    print(f"  the key's request log entry {share('log_off', 1)}, from API_REQUEST_LOG=0")
    print(f"  django-prometheus           {share('prometheus_off', 1)}, from the chain without its middleware")
    print(f"  JSON request log line       {share('line_on', -1)}, at INFO as production logs (bench: WARNING)")
    from django.urls import resolve

    from apikeys.localcache import local_keys
    from core.dbhealth import database_health

    calls = 20 * n
    print(f"per call ({calls} calls):")
    resolve_keyed = per_call_us(lambda: resolve("/api/v1/me"), calls)
    resolve_base = per_call_us(lambda: resolve("/bench/baseline"), calls)
    print(f"  URL resolution /api/v1/me   {resolve_keyed:6.1f} us (/bench/baseline {resolve_base:.1f})")
    print(f"  local_keys.poll()           {per_call_us(local_keys.poll, calls):6.1f} us (the invalidation drain)")
    print(f"  database_health.is_up()     {per_call_us(database_health.is_up, calls):6.2f} us (a memory read)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--cold", action="store_true", help="also measure with the CPU caches flushed between requests")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--callers", default="", help="with --profile: print who calls functions matching this")
    parser.add_argument("--database", default="parley_keyfast_prof")
    parser.add_argument("--redis-db", default="9")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:6379/{args.redis_db}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ.setdefault("API_RATE_LIMIT", "100000000/h")  # rate limiting on, never reached
    # The task worker stores the request log in production (and in bench_keys.py), a process of
    # its own: this process must not fall back to storing it (after 10 s), or that CPU is counted.
    os.environ.setdefault("API_REQUEST_LOG_FALLBACK_DRAIN_SECONDS", "86400")

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
        if args.cold:
            me, base = [], []
            for _ in range(args.rounds):
                me.append(per_request_us(app, "/api/v1/me", keyed, args.requests, cold=True))
                base.append(per_request_us(app, "/bench/baseline", {}, args.requests, cold=True))
            extra = statistics.median(x - y for x, y in zip(me, base, strict=True))
            print("cold CPU caches (16 MiB touched between requests, this thread's CPU):")
            print(f"  /bench/baseline  {statistics.median(base):7.0f} us/request")
            print(f"  /api/v1/me       {statistics.median(me):7.0f} us/request")
            print(f"  key check costs  {extra:7.0f} us/request over the baseline")
        parts(app, keyed, max(args.requests // 4, 200), 4 * args.rounds)
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
        psql(f"DROP DATABASE IF EXISTS {args.database} WITH (FORCE)")


if __name__ == "__main__":
    main()
