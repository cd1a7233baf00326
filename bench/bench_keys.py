"""Key-check benchmark (issue #23): Parley's check against no check and against its peers. Prints figures.

Starts three gunicorns (2 sync workers each) on PostgreSQL + Redis with rate limiting
on, and the task worker (``manage.py db_worker``, which stores the request log, as in
production): one as configured (key records held per process), one with
``API_KEY_LOCAL_CACHE=0`` (the previous design: one Redis call a request) and one with
``API_REQUEST_LOG=0`` (what the request log costs). Drives, in
rounds whose order rotates, the same body behind: no check (``/bench/baseline``, on
each server), Parley's ``GET /api/v1/me`` on each server, and the peers of bench/peers/
(djangorestframework-api-key with and without a DRF throttle on the shared cache,
DRF's ``TokenAuthentication``, django-rest-knox). Prints per endpoint req/s per round
and median, ratio to the baseline (the no-check endpoint of the row's own server: two
gunicorns of the same code differ by a few per cent), p50/p99 latency, worker CPU per
request (every thread of the workers, from the scheduler's nanosecond counts), what the
endpoint adds to it (``+CPU``: the median of the pairs' differences; ``+CPU %``: of their
quotients) and queries per request; then Parley with 100,000 keys; then the revocation latency (from
``api_key_revoke`` returning to the first 401, 200 revocations under load). The last
line is ``keyed/baseline ratio: …`` (medians of the pairs' ratios).

    .venv/bin/pip install -e '.[bench]'   # the peers
    .venv/bin/python bench/bench_keys.py [--quick] [--seconds 1] [--rounds 24] [--launches 4] [--main-pairs 3]

Many short rounds rather than a few long ones: the VM's speed drifts by a quarter over a
run (its neighbours, the services beside us; the hypervisor takes up to a tenth of the CPU
in bursts), and 24 rounds of 1 s spread that drift over every endpoint alike, where 5
rounds of 3 s let it land on one. Each endpoint is driven right beside its server's
baseline, as a pair split in halves around each other (baseline, endpoint, endpoint,
baseline; the other way round every other round), and its ``ratio`` is the median of the
pairs' ratios; ``of medians`` (median req/s over the baseline's median) is printed beside
it, and moves more with the drift. Parley's row and the A/A row (the baseline paired with
itself: how far the pairing moves) get ``--main-pairs`` pairs a round.

The rounds run on ``--launches`` sets of servers in turn (6 rounds each, then all three
gunicorns are started afresh): the same code in two launches of a gunicorn differs in speed
(where each process's memory landed, its hash seed); four identical servers side by side
read the check's cost from +53 to +185 µs of worker CPU, so a run on one launch would
measure that luck along with the code. The VM's speed (a fixed
Python loop) is printed with the figures: microseconds move with it, ratios much less.

Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (it creates and
drops its own database ``parley_bench`` and uses Redis db 15; ``BENCH_DATABASE`` and
``BENCH_REDIS_DB`` choose others).
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = os.environ.get("BENCH_DATABASE", "parley_bench")
REDIS_DB = os.environ.get("BENCH_REDIS_DB", "15")
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
os.environ["REDIS_URL"] = f"redis://127.0.0.1:6379/{REDIS_DB}"
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
os.environ["API_RATE_LIMIT"] = "100000000/h"  # rate limiting on, never reached


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql], check=True)


def start_gunicorn(port: int, **env: str) -> subprocess.Popen:
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
        env={**os.environ, **env},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def vm_speed_us() -> float:
    """µs of a fixed pure-Python loop in this process (best of five): the VM's speed at that moment.

    CPU microseconds per request scale with it (the same code reads a third dearer on a
    slower hour); a run's figures are compared with another's only alongside this.
    """
    import timeit

    return min(timeit.repeat("sum(range(10000))", repeat=5, number=200)) / 200 * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, help="a pair's length (default 1; --quick 0.75)")
    # An even count: each order of a pair equally often.
    parser.add_argument("--rounds", type=int, help="rounds (default 24; --quick 8)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--launches", type=int, help="fresh sets of servers a run measures on, in turn (default 4; --quick 2)"
    )
    parser.add_argument("--main-pairs", type=int, default=3, help="pairs a round of parley /api/v1/me and of A/A")
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--revocations", type=int, default=200)
    parser.add_argument(
        "--no-task-worker",
        action="store_true",
        help="no task worker: the request log waits in its stream, stored by nobody (what storing costs the cores)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="8 rounds of 0.75 s (unless --rounds/--seconds say otherwise), main pairs twice a round, "
        "50 revocations, no 100,000 keys",
    )
    args = parser.parse_args()
    if args.quick:
        args.revocations, args.keys, args.main_pairs = 50, 0, 2
    args.rounds = args.rounds or (8 if args.quick else 24)
    args.seconds = args.seconds or (0.75 if args.quick else 1.0)
    args.launches = args.launches or (2 if args.quick else 4)
    if args.rounds % args.launches:
        parser.error("--rounds must be a multiple of --launches")

    psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    psql(f"CREATE DATABASE {DB_NAME}")
    subprocess.run(["redis-cli", "-n", REDIS_DB, "flushdb"], check=True, capture_output=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)

    import django

    django.setup()
    from django.conf import settings

    from accounts.actors import Actor
    from apikeys.services import api_key_revoke
    from bench.peers import run
    from tests import factories

    if not settings.PEERS:  # type: ignore[misc]  # bench.settings
        raise SystemExit("The peers are not installed: .venv/bin/pip install -e '.[bench]'")
    from bench.peers.credentials import make_credentials

    workspace = factories.make_workspace(name="Bench")
    owner = factories.owner_of(workspace)
    plain = [factories.make_key(workspace)[1] for _ in range(10)]
    hot = plain[0]
    auth = {"Authorization": f"Bearer {hot}"}
    peers = make_credentials(owner)

    if args.no_task_worker:  # and no web process stores in its stead
        os.environ["API_REQUEST_LOG_FALLBACK_DRAIN_SECONDS"] = "86400"
    port, previous_port, log_off_port = 18765, 18766, 18767
    server_env = {port: {}, previous_port: {"API_KEY_LOCAL_CACHE": "0"}, log_off_port: {"API_REQUEST_LOG": "0"}}
    web = {p: start_gunicorn(p, **env) for p, env in server_env.items()}
    main_pid, previous_pid, log_off_pid = (server.pid for server in web.values())
    task_workers = []
    # The task worker, as production runs beside the web servers: it stores the request log.
    if not args.no_task_worker:
        task_workers.append(
            subprocess.Popen(
                [sys.executable, "manage.py", "db_worker", "--no-startup-delay"],
                cwd=ROOT,
                env={**os.environ, "LOG_LEVEL": "WARNING"},
            )
        )

    def measure(groups: list[tuple[run.Endpoint, run.Endpoint]]) -> None:
        """The rounds, on ``--launches`` fresh sets of servers in turn (the first set is running)."""
        per = args.rounds // args.launches
        for launch in range(args.launches):
            if launch:
                for server in web.values():
                    server.terminate()
                    server.wait()
                web.update({p: start_gunicorn(p, **env) for p, env in server_env.items()})
            for e in (e for group in groups for e in group):
                e.master = web[e.port].pid
            run.rounds(groups, per, args.seconds, args.concurrency, first=launch * per)

    try:
        endpoints = [
            run.Endpoint("no auth (baseline)", port, main_pid, "/bench/baseline", {}),
            run.Endpoint("parley /api/v1/me", port, main_pid, "/api/v1/me", auth),
            run.Endpoint("no auth, previous-design server", previous_port, previous_pid, "/bench/baseline", {}),
            run.Endpoint("parley, previous design", previous_port, previous_pid, "/api/v1/me", auth),
            run.Endpoint("no auth, log-off server", log_off_port, log_off_pid, "/bench/baseline", {}),
            run.Endpoint("parley, request log off", log_off_port, log_off_pid, "/api/v1/me", auth),
            run.Endpoint("drf-api-key", port, main_pid, "/bench/peers/drf-api-key", peers["drf-api-key"]),
            run.Endpoint(
                "drf-api-key + throttle", port, main_pid, "/bench/peers/drf-api-key-throttle", peers["drf-api-key"]
            ),
            run.Endpoint("drf-token", port, main_pid, "/bench/peers/drf-token", peers["drf-token"]),
            run.Endpoint("knox", port, main_pid, "/bench/peers/knox", peers["knox"]),
            # The baseline against itself: what the pairing reads when the two sides do the same work.
            run.Endpoint("no auth again (A/A)", port, main_pid, "/bench/baseline", {}),
        ]
        for e in endpoints:
            # The row's server settings, in this process: each of server_env's switches off ("0").
            overrides = dict.fromkeys(server_env[e.port], False)
            e.queries = run.queries_per_request(e.path, e.headers, **overrides)
        speed_before = vm_speed_us()
        print(
            f"gunicorn 2 workers (sync), PostgreSQL + Redis, rate limiting on, {args.concurrency} client threads "
            f"(a new connection per request), {args.rounds} rounds, pairs of 2 x {args.seconds:g} s "
            f"(baseline, endpoint, endpoint, baseline), order rotated each round; parley /api/v1/me and "
            f"the A/A row {args.main_pairs} pairs a round; {args.launches} launches of the servers "
            f"({args.rounds // args.launches} rounds each); the VM's speed: sum(range(10000)) {speed_before:.0f} us"
        )
        main_baseline = endpoints[0]
        main, same = (endpoints[0], endpoints[1]), (main_baseline, endpoints[-1])
        # Each endpoint beside its server's baseline (the peers run on the main server). The last
        # line's pair, and the A/A pair that shows how far the pairing moves at that count, are
        # measured main_pairs times a round, spread over it: more pairs, a steadier median.
        groups = [(endpoints[2], endpoints[3]), (endpoints[4], endpoints[5])]
        groups += [(main_baseline, e) for e in endpoints[6:-1]]
        for i in range(args.main_pairs):
            at = i * len(groups) // args.main_pairs
            groups[at:at] = [main, same]
        measure(groups)
        ratios = run.table(endpoints, main_baseline)

        if args.keys:
            from django.db import connection

            from apikeys import keys
            from apikeys.models import ApiKey

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
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE apikeys_apikey")
            time.sleep(3)  # let PostgreSQL settle after the bulk insert before measuring
            big = [
                run.Endpoint("no auth (baseline)", port, main_pid, "/bench/baseline", {}),
                run.Endpoint(f"parley, {args.keys} keys", port, main_pid, "/api/v1/me", auth),
                run.Endpoint("no auth, previous-design server", previous_port, previous_pid, "/bench/baseline", {}),
                run.Endpoint(f"previous, {args.keys} keys", previous_port, previous_pid, "/api/v1/me", auth),
            ]
            print(f"\nThe same with {args.keys} keys in the table:")
            measure([(big[0], big[1]), (big[2], big[3])])
            run.table(big, big[0])

        actor = Actor.for_user(owner)
        latencies, accepted = run.revocation_latency(
            port,
            lambda: factories.make_key(workspace, rate_limit="100000/h"),
            lambda key: api_key_revoke(key=key, actor=actor),
            args.revocations,
            args.concurrency,
        )
        print(
            f"\nRevocation: api_key_revoke returning -> first 401 on the server (2 workers, {args.concurrency} "
            f"client threads on the key), {args.revocations} revocations; "
            f"requests started after it returned and accepted: {accepted}"
        )
        run.histogram(latencies)
        print(
            f"\nThe VM's speed: sum(range(10000)) took {speed_before:.0f} us before the rounds, "
            f"{vm_speed_us():.0f} us after the revocations"
        )
        print(
            f"keyed/baseline ratio: {ratios['parley /api/v1/me']:.2f} (drf-api-key {ratios['drf-api-key']:.2f}, "
            f"drf-token {ratios['drf-token']:.2f}, knox {ratios['knox']:.2f})"
        )
    finally:
        for server in [*web.values(), *task_workers]:
            server.terminate()
            server.wait()
        from django.db import connections

        from core.dbhealth import database_health

        database_health.stop()
        connections.close_all()
        psql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


if __name__ == "__main__":
    main()
