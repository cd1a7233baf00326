"""Key-check benchmark (issue: API keys). Prints figures; asserts nothing.

Starts gunicorn (2 workers) on PostgreSQL + Redis and drives, interleaved in
rounds on loopback, a key-authenticated ``GET /api/v1/me`` and an unauthenticated
endpoint with the same response and the same (no) database work. Then repeats the
authenticated run with 100,000 keys in the table, and times the uncached database
lookup at 10 and at 100,000 keys.

    .venv/bin/python bench/bench_keys.py [--seconds 3] [--rounds 5] [--concurrency 8]

Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (it creates and
drops its own database ``parley_bench`` and uses Redis db 15; ``BENCH_DB_NAME`` and ``BENCH_REDIS_DB`` pick others).
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = os.environ.get("BENCH_DB_NAME", "parley_bench")  # two benchmarks at once need two of each
REDIS_DB = os.environ.get("BENCH_REDIS_DB", "15")
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
os.environ["REDIS_URL"] = f"redis://127.0.0.1:6379/{REDIS_DB}"
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
os.environ["API_RATE_LIMIT"] = "100000000/h"  # rate limiting on, never reached
os.environ["PUBLIC_RATE_LIMIT"] = "100000000/m"  # the anonymous baseline's per-IP limit, likewise


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql], check=True)


def drive(port: int, path: str, headers: dict[str, str], seconds: float, concurrency: int) -> float:
    """Requests per second over ``seconds`` with ``concurrency`` client threads."""
    count = [0] * concurrency
    errors = [0] * concurrency
    deadline = time.perf_counter() + seconds

    def worker(i: int) -> None:
        while time.perf_counter() < deadline:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status == 200:
                count[i] += 1
            else:
                errors[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if sum(errors):
        raise SystemExit(f"{sum(errors)} non-200 answers on {path}")
    return sum(count) / (time.perf_counter() - started)


def compare(port: int, key: str, args: argparse.Namespace) -> tuple[float, float]:
    auth = {"Authorization": f"Bearer {key}"}
    drive(port, "/api/v1/me", auth, 1, args.concurrency)  # warm up: fills the key cache
    drive(port, "/bench/baseline", {}, 1, args.concurrency)
    keyed, baseline = [], []
    for _ in range(args.rounds):
        keyed.append(drive(port, "/api/v1/me", auth, args.seconds, args.concurrency))
        baseline.append(drive(port, "/bench/baseline", {}, args.seconds, args.concurrency))
    return statistics.median(keyed), statistics.median(baseline)


def lookup_cost_us(digests: list[str]) -> float:
    """Median microseconds of the uncached lookup (one indexed query) over ``digests``."""
    from apikeys.selectors import _from_database

    samples = []
    for digest in digests:
        started = time.perf_counter()
        _from_database(digest)
        samples.append((time.perf_counter() - started) * 1e6)
    return statistics.median(samples)


def median_us(fn, n: int = 2000) -> float:  # type: ignore[no-untyped-def]  # benchmark helper
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1e6)
    return statistics.median(samples)


def log_off_row(port: int, key: str, args: argparse.Namespace) -> None:
    """The same comparison on a second server with the request log off (``API_REQUEST_LOG=0``);
    every other row runs with it on, as production does."""
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    server = subprocess.Popen(
        [gunicorn, "config.wsgi:application", "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT,
        env={**os.environ, "API_REQUEST_LOG": "0"},
    )
    try:
        time.sleep(2.5)
        keyed, baseline = compare(port, key, args)
    finally:
        server.terminate()
        server.wait()
    print(
        f"[10 keys, request log off] /api/v1/me {keyed:8.0f} req/s   baseline {baseline:8.0f} req/s   "
        f"ratio {keyed / baseline:.2f}   (every other row: request log on)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--keys", type=int, default=100_000)
    args = parser.parse_args()

    psql(f"DROP DATABASE IF EXISTS {DB_NAME}")
    psql(f"CREATE DATABASE {DB_NAME}")
    subprocess.run(["redis-cli", "-n", REDIS_DB, "flushdb"], check=True, capture_output=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)

    import django

    django.setup()
    from apikeys import keys
    from apikeys.models import ApiKey
    from tests import factories

    workspace = factories.make_workspace(name="Bench")
    plain = [factories.make_key(workspace)[1] for _ in range(10)]
    hot = plain[0]

    port = 18765
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "config.wsgi:application",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=os.environ,
    )
    # The task worker, as production runs beside the web servers: it drains the request log.
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-startup-delay"],
        cwd=ROOT,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )
    try:
        time.sleep(2.5)
        print(
            f"gunicorn 2 workers, PostgreSQL + Redis, {args.concurrency} client threads, "
            f"{args.rounds} rounds x {args.seconds:.0f}s each, interleaved"
        )
        keyed, baseline = compare(port, hot, args)
        us_10 = lookup_cost_us([keys.digest(k) for k in plain] * 50)
        print(
            f"[10 keys]      /api/v1/me {keyed:8.0f} req/s   baseline {baseline:8.0f} req/s   "
            f"ratio {keyed / baseline:.2f}"
        )
        log_off_row(port + 1, hot, args)

        batch = []
        for _ in range(args.keys - 10):
            k = keys.generate("secret")
            batch.append(
                ApiKey(
                    workspace=workspace,
                    name="filler",
                    digest=keys.digest(k),
                    hint=keys.hint(k),
                    scopes=["contacts:read"],
                )
            )
        ApiKey.objects.bulk_create(batch, batch_size=5000)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE apikeys_apikey")
        time.sleep(3)  # let PostgreSQL settle after the bulk insert before measuring
        keyed_big, baseline_big = compare(port, hot, args)
        sample = list(ApiKey.objects.order_by("?").values_list("digest", flat=True)[:500])
        us_big = lookup_cost_us(sample)
        print(
            f"[{args.keys} keys] /api/v1/me {keyed_big:8.0f} req/s   baseline {baseline_big:8.0f} req/s   "
            f"ratio {keyed_big / baseline_big:.2f}"
        )
        print(
            f"uncached key lookup (one indexed query): {us_10:.0f} us at 10 keys, {us_big:.0f} us at {args.keys} keys "
            f"({(us_big / us_10 - 1) * 100:+.0f} %)"
        )
        print(f"key-authenticated throughput at {args.keys} vs 10 keys: {(keyed_big / keyed - 1) * 100:+.1f} %")

        from django.core.cache import cache

        from apikeys.selectors import api_key_lookup

        client = cache.raw_client()  # type: ignore[attr-defined]  # FailoverRedisCache (REDIS_URL is set)
        digest = keys.digest(hot)
        print(
            f"in-process: Redis PING round trip {median_us(client.ping):.0f} us; "
            "cached key check (lookup + rate-limit count, one Lua call) "
            f"{median_us(lambda: api_key_lookup(digest)):.0f} us"
        )
    finally:
        server.terminate()
        worker.terminate()
        server.wait()
        worker.wait()
        from django.db import connections

        connections.close_all()
        psql(f"DROP DATABASE IF EXISTS {DB_NAME}")


if __name__ == "__main__":
    main()
