"""``bench/soak``: Parley under a bounded mixed load while faults are injected on a schedule (issue #20).

    bench/soak [--seconds N]   (default 120; --quick = 30; N >= 30, one fault cycle per 30 s)

Brings up, in a temporary directory and on spare ports of 127.0.0.1, a PostgreSQL
cluster of its own (``initdb``, run as the ``postgres`` OS user), a Redis of its own
behind a TCP relay (``bench/soak_relay.py``), gunicorn with 2 workers and the task
worker (``config.settings.production``), and a webhook receiver; then drives the load
from a second process (``bench/soak_driver.py``) while, every 30 s, it:

    +0.2 s the driver's bursts: a key with a low limit, one visitor token chatting fast
    +3 s   SIGKILLs one gunicorn worker (gunicorn starts another)
    +5 s   SIGKILLs the task worker mid-delivery (the receiver holds a delivery
           unanswered) and restarts it after 1 s, as a supervisor would
    +9 s   cuts Redis off for 10 s (blackhole, or refuse in odd cycles) and, 1 s in,
           revokes a key that is in use, from a process that cannot reach Redis and
           exits right after (its tombstone never reaches Redis)
    +21 s  restarts PostgreSQL (fast shutdown, 3 s down, start)

Then it audits (``bench/soak_report.py``), prints a table per endpoint class and per
fault and the final line, and exits 1 unless 5xx (outside the PostgreSQL outage),
lost, duplicated, accepted-after-revoke and missing webhook events are all 0 (and
the other checks it names hold); 2 when it could not set up. Every process it
started is stopped by PID and the temporary directory removed, on Ctrl-C too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import queue
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import IO, Any

from bench.soak_procs import (
    LOOPBACK,
    PYTHON,
    ROOT,
    Child,
    Children,
    Gunicorn,
    Postgres,
    Redis,
    SetupError,
    TaskWorker,
    base_env,
    free_port,
    http_status,
    tail,
)
from bench.soak_receiver import Receiver
from bench.soak_relay import Relay
from bench.soak_report import REVOKE_GRACE, Fault, judge

CYCLE = 30.0
DB_NAME = "parley_soak"
PG_DOWN_SECONDS = 3.0
PG_RECOVERY_SECONDS = 5.0  # SPEC §10: recovery within 5 s, no restart
REDIS_CUT_SECONDS = 10.0
# Offsets in each cycle (see the docstring). The driver's bursts come at quiet moments: while
# Redis is cut, limits are counted per process, and a burst would meet them later.
REVOKER_AT, GUNICORN_AT, TASK_WORKER_AT, REDIS_AT, POSTGRES_AT = 0.5, 3.0, 5.0, 9.0, 21.0
WIDGET_BURST_AT, API_BURST_AT = 0.2, 0.4


class Interrupted(Exception):
    """SIGINT or SIGTERM: clean up and leave."""


def log(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


def lines_of(stream: IO[bytes]) -> queue.Queue[str]:
    """A thread reading ``stream`` line by line into a queue (so reads can time out)."""
    out: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for raw in iter(stream.readline, b""):
            out.put(raw.decode(errors="replace").rstrip("\n"))
        out.put("")  # EOF

    threading.Thread(target=pump, daemon=True).start()
    return out


def next_line(lines: queue.Queue[str], timeout: float, what: str) -> str:
    try:
        line = lines.get(timeout=timeout)
    except queue.Empty:
        raise SetupError(f"{what}: nothing within {timeout:.0f} s") from None
    if not line:
        raise SetupError(f"{what}: the process ended")
    return line


def admin(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[bytes]:
    """One ``bench.soak_admin`` step (killed if it overruns ``timeout``)."""
    try:
        return subprocess.run(
            [PYTHON, "-m", "bench.soak_admin", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SetupError(f"bench.soak_admin {args[0]} took more than {timeout:.0f} s") from None


class Soak:
    def __init__(self, seconds: int, keep: bool) -> None:
        self.seconds = seconds
        self.cycles = seconds // int(CYCLE)
        self.keep = keep
        self.children = Children()
        taken: set[int] = set()
        ports = [free_port(taken) for _ in range(4)]  # PostgreSQL, Redis, the relay, gunicorn
        self.root = Path(tempfile.mkdtemp(prefix="parley-soak-"))  # nothing fails between here and cleanup
        self.root.chmod(0o755)  # the postgres OS user enters it (its own subdirectory is 0700)
        self.pg = Postgres(self.root, ports[0], self.children)
        self.redis = Redis(self.root, ports[1], self.children)
        self.relay = Relay(self.redis.port, ports[2])
        self.http_port = ports[3]
        self.receiver = Receiver()
        self.faults: list[Fault] = []
        self.readyz: list[tuple[float, int, str]] = []
        self.t0 = 0.0
        self.load_end = 0.0
        self.gunicorn: Gunicorn | None = None
        self.worker: TaskWorker | None = None
        self.driver: Child | None = None
        self.setup: dict[str, Any] = {}
        self._probe_stop = threading.Event()

    # --- Environment of the servers (and of the soak's Django-side steps).
    def server_env(self) -> dict[str, str]:
        return {
            **base_env(),
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": "soak-" + secrets.token_urlsafe(48),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_SECURE_COOKIES": "0",
            "DJANGO_BEHIND_TLS_PROXY": "0",
            "DATABASE_URL": self.pg.url(DB_NAME),
            "REDIS_URL": f"redis://{LOOPBACK}:{self.relay.port}/0",
            "CACHE_KEY_PREFIX": "soak",
            "LOG_LEVEL": "WARNING",
            "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",  # the receiver is on 127.0.0.1
            # A killed worker's delivery comes back within seconds, not minutes.
            "WEBHOOK_ATTEMPT_LEASE_SECONDS": "5",
            "WEBHOOK_REQUEUE_AFTER_SECONDS": "4",
            "WEBHOOK_SWEEP_INTERVAL_SECONDS": "2",
            "WEBHOOK_SWEEP_DEAD_AFTER_SECONDS": "10",
            "WEBHOOK_DISPATCH_AFTER_SECONDS": "3",
            # A SIGKILLed worker's unacknowledged request-log entries are taken over in seconds.
            "API_REQUEST_LOG_RECLAIM_SECONDS": "3",
            # Every virtual client is 127.0.0.1: per-IP limits would throttle all of them
            # together. The per-token chat limit and the burst key's own limit stay low.
            "API_RATE_LIMIT": "1000000/h",
            "WIDGET_RATE_LIMIT_SESSION": "100000/m",
            "WIDGET_RATE_LIMIT_CHAT": "10/m",  # per visitor token: a visitor sends 3 to 6
        }

    # --- Setup.
    def bring_up(self) -> None:
        started = time.monotonic()
        log(f"temporary directory {self.root}")
        self.pg.init()
        self.pg.start()
        self.pg.execute(f"CREATE DATABASE {DB_NAME}")
        log(f"PostgreSQL on 127.0.0.1:{self.pg.port} (pid {self.pg.child.pid if self.pg.child else '?'})")
        self.redis.start()
        self.relay.start()
        log(f"Redis on 127.0.0.1:{self.redis.port}, reached through the relay on 127.0.0.1:{self.relay.port}")
        self.env = self.server_env()
        result = admin(["setup", "--victims", str(self.cycles)], self.env, timeout=240)
        if result.returncode:
            raise SetupError(f"migrate/setup failed:\n{result.stderr.decode(errors='replace')[-3000:]}")
        self.setup = json.loads(result.stdout.decode().strip().splitlines()[-1])
        log("migrated; workspace, keys and a widget assistant made through the services")
        self.receiver.start()
        self.gunicorn = Gunicorn(self.root, self.http_port, self.env, self.children)
        self.gunicorn.start()
        log(f"gunicorn on 127.0.0.1:{self.http_port}, workers {self.gunicorn.workers()}")
        self.worker = TaskWorker(self.root, self.env, self.children)
        self.worker.start()
        log(f"task worker (manage.py db_worker) pid {self.worker.child.pid if self.worker.child else '?'}")
        log(f"set up in {time.monotonic() - started:.1f} s")

    def start_driver(self) -> queue.Queue[str]:
        grace = 12.0 if self.seconds <= 30 else 20.0
        config = {
            "base": f"http://{LOOPBACK}:{self.http_port}",
            "receiver": self.receiver.url,
            "origin": self.setup["origin"],
            "assistant": self.setup["assistant"],
            "questions": self.setup["questions"],
            "keys": self.setup["keys"],
            "seconds": self.seconds,
            "grace": grace,
            "max_requests": 400 * self.seconds + 5000,
            "readers": 3,
            "writers": 2,
            "visitors": 2,
            "records": str(self.root / "records.jsonl"),
            "hook_file": str(self.root / "hook.json"),
            "seed": 20,
            "cycle": CYCLE,
            "bursts": {"widget": WIDGET_BURST_AT, "api": API_BURST_AT},
        }
        config_path = self.root / "driver.json"
        config_path.write_text(json.dumps(config))
        self.driver = self.children.spawn(
            "driver",
            [PYTHON, "-m", "bench.soak_driver", str(config_path)],
            env=base_env(),
            log=self.root / "driver.log",
            stdout=subprocess.PIPE,
        )
        assert self.driver.proc.stdout is not None
        lines = lines_of(self.driver.proc.stdout)
        ready = next_line(lines, 90, "the load driver")
        if not ready.startswith("READY "):
            raise SetupError(f"the load driver said {ready!r}:\n{tail(self.root / 'driver.log')}")
        self.t0 = float(ready.split()[1])
        self.load_end = self.t0 + self.seconds
        self.grace = grace
        return lines

    def probe(self) -> None:
        """``/readyz`` twice a second during the load, to show what the faults did to it."""
        while not self._probe_stop.is_set() and time.time() < self.load_end:
            status, body = http_status(self.http_port, "/readyz", timeout=3)
            try:
                state = str(json.loads(body).get("status", ""))
            except ValueError:
                state = ""
            self.readyz.append((time.time(), status, state))
            self._probe_stop.wait(0.5)

    def readyz_between(self, start: float, end: float) -> str:
        seen = sorted(
            {f"{s} {state}".strip() if s else "no answer" for t, s, state in self.readyz if start <= t <= end}
        )
        return "/readyz " + (", ".join(seen) if seen else "not probed")

    # --- Faults.
    def at(self, when: float) -> None:
        delay = when - time.time()
        if delay > 0:
            time.sleep(delay)

    def kill_gunicorn_worker(self) -> None:
        assert self.gunicorn is not None
        before = self.gunicorn.workers()
        fault = Fault("gunicorn worker SIGKILL", time.time(), time.time(), time.time())
        if not before:
            fault.injected = False
            fault.observed.append("no worker to kill")
        else:
            victim = before[0]
            os.kill(victim, signal.SIGKILL)
            fault.start = time.time()
            deadline = time.time() + 20
            while time.time() < deadline:
                now = self.gunicorn.workers()
                if len(now) == 2 and victim not in now:
                    break
                time.sleep(0.05)
            fault.end = time.time()
            fault.window_end = fault.end + 1.0
            fault.observed.append(
                f"pid {victim} killed; replaced by {sorted(set(self.gunicorn.workers()) - set(before))} "
                f"in {fault.end - fault.start:.1f}s"
            )
        self.faults.append(fault)

    def kill_task_worker(self) -> None:
        assert self.worker is not None
        fault = Fault("task worker SIGKILL mid-delivery", time.time(), time.time(), time.time())
        self.receiver.hold_next()
        held = self.receiver.wait_held(15)
        pid = self.worker.sigkill()
        fault.start = time.time()
        time.sleep(0.3)
        self.receiver.release()
        starts = self.worker.starts
        deadline = time.time() + 15
        while self.worker.starts == starts and time.time() < deadline:
            time.sleep(0.05)
        fault.end = time.time()
        fault.window_end = fault.end + 1.0
        if held is None or pid is None:
            fault.injected = False
            fault.observed.append("no delivery in flight within 15 s" if held is None else "no worker running")
        else:
            fault.details["webhook_id"] = held.webhook_id
            fault.observed.append(
                f"pid {pid} killed holding {held.webhook_id}; restarted after {fault.end - fault.start:.1f}s"
            )
        self.faults.append(fault)

    def start_revoker(self, index: int) -> tuple[Child, queue.Queue[str]]:
        key_id = self.setup["keys"]["victims"][index]["id"]
        child = self.children.spawn(
            f"revoker#{index}",
            [PYTHON, "-m", "bench.soak_admin", "revoke", str(key_id)],
            env=self.env,  # REDIS_URL is the relay: cut off when it revokes
            log=self.root / "revoker.log",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert child.proc.stdout is not None
        return child, lines_of(child.proc.stdout)

    def cut_redis(self, index: int, revoker: tuple[Child, queue.Queue[str]], start_at: float) -> None:
        mode = "blackhole" if index % 2 == 0 else "refuse"
        child, lines = revoker
        fault = Fault(f"Redis cut off ({mode})", time.time(), time.time(), time.time())
        try:
            ready = next_line(lines, max(1.0, start_at - time.time() + 20), "the revoker")
        except SetupError as exc:
            ready = str(exc)
        self.at(start_at)
        getattr(self.relay, mode)()
        fault.start = time.time()
        self.at(fault.start + 1.0)
        committed = None
        if ready == "ready" and child.proc.stdin is not None:
            child.proc.stdin.write(b"go\n")
            child.proc.stdin.flush()
            with contextlib.suppress(SetupError, ValueError):
                committed = float(json.loads(next_line(lines, REDIS_CUT_SECONDS - 2, "the revoker"))["committed"])
        self.at(fault.start + REDIS_CUT_SECONDS)
        self.relay.restore()
        fault.end = time.time()
        fault.window_end = fault.end + 1.0
        self.faults.append(fault)
        revoke = Fault("key revoked while Redis is cut off", fault.end, fault.end, fault.end)
        if committed is None:
            revoke.injected = False
            revoke.observed.append(f"the revoke did not happen ({ready}): {tail(self.root / 'revoker.log', 5)}")
        else:
            revoke.start = revoke.end = committed
            revoke.window_end = committed + REVOKE_GRACE
            revoke.details.update(victim=index, committed=committed)
            revoke.observed.append(
                f"key #{index} revoked by a process that could not reach Redis and exited at once, "
                f"{committed - fault.start:.1f}s into the cut"
            )
            if committed >= fault.end:
                revoke.injected = False
                revoke.observed.append("the revoke committed after Redis was back")
        self.faults.append(revoke)

    def restart_postgres(self) -> None:
        fault = Fault("postgres restart", time.time(), time.time(), time.time())
        self.pg.stop_fast()
        stopped = time.time()
        time.sleep(PG_DOWN_SECONDS)
        ready = self.pg.start()
        fault.end = ready
        fault.window_end = ready + PG_RECOVERY_SECONDS
        fault.details["ready"] = ready
        fault.observed.append(
            f"fast shutdown took {stopped - fault.start:.1f}s; answering again after {ready - fault.start:.1f}s"
        )
        self.faults.append(fault)

    def inject(self) -> None:
        for cycle in range(self.cycles):
            base = self.t0 + cycle * CYCLE
            self.at(base + REVOKER_AT)
            revoker = self.start_revoker(cycle)  # Django takes seconds to start: it waits for "go"
            self.at(base + GUNICORN_AT)
            self.kill_gunicorn_worker()
            self.at(base + TASK_WORKER_AT)
            self.kill_task_worker()
            self.cut_redis(cycle, revoker, base + REDIS_AT)
            self.at(base + POSTGRES_AT)
            self.restart_postgres()

    # --- After the load.
    def collect(self, lines: queue.Queue[str]) -> list[dict[str, Any]]:
        assert self.driver is not None
        deadline = self.load_end + self.grace + 45
        try:
            self.driver.proc.wait(max(1.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
            raise SetupError(f"the load driver overran its deadline:\n{tail(self.root / 'driver.log')}") from None
        if self.driver.proc.returncode:
            raise SetupError(
                f"the load driver failed ({self.driver.proc.returncode}):\n{tail(self.root / 'driver.log')}"
            )
        records = [json.loads(line) for line in (self.root / "records.jsonl").read_text().splitlines() if line]
        return records

    def audit(self) -> dict[str, Any]:
        result = admin(["audit", str(self.setup["workspace"])], self.env, timeout=120)
        if result.returncode:
            raise SetupError(f"the audit failed:\n{result.stderr.decode(errors='replace')[-3000:]}")
        audit: dict[str, Any] = json.loads(result.stdout.decode().strip().splitlines()[-1])
        return audit

    def wait_for_webhooks(self, expected: set[str]) -> float:
        """Until every expected event has arrived; at most 90 s, or 30 s without a new one."""
        started = progress = time.time()
        have = len(self.receiver.answered_contact_ids() & expected)
        while time.time() - started < 90 and time.time() - progress < 30:
            answered = self.receiver.answered_contact_ids() & expected
            if answered == expected:
                break
            if len(answered) > have:
                have, progress = len(answered), time.time()
            time.sleep(0.25)
        return time.time() - started

    def describe(self, records: list[dict[str, Any]]) -> None:
        """What each fault did to the traffic, from the records."""
        pg_starts = sorted(f.start for f in self.faults if f.name == "postgres restart")
        for fault in self.faults:
            inside = [r for r in records if r["t0"] <= fault.window_end and r["t1"] >= fault.start]
            statuses: dict[str, int] = {}
            for r in inside:
                s = r["s"]
                label = "none" if s is None else "2xx" if 200 <= s < 300 else str(s) if s >= 500 or s == 429 else "4xx"
                statuses[label] = statuses.get(label, 0) + 1
            fault.observed.append(
                f"{len(inside)} requests in the window: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
            )
            if fault.name == "postgres restart":
                served = [r["t1"] - r["t0"] for r in inside if r["s"] == 503]
                ready = fault.details["ready"]
                until = min((s for s in pg_starts if s > fault.start), default=math.inf)  # the next restart
                after = [r for r in records if r["t0"] >= ready and r["t1"] < until]  # answered before it
                writes = [r["t1"] for r in after if r["cls"] == "api.write" and r["s"] == 201]
                late_503 = [r["t1"] for r in after if r["s"] == 503]
                if served:
                    fault.observed.append(f"503s answered in <= {max(served):.2f}s")
                if late_503:
                    fault.observed.append(f"last 503 {max(late_503) - ready:.1f}s after it answered")
                if writes:
                    fault.observed.append(f"first 201 write {min(writes) - ready:.1f}s after it answered")
            if fault.name == "task worker SIGKILL mid-delivery" and "webhook_id" in fault.details:
                again = [
                    item.at
                    for item in self.receiver.snapshot()
                    if item.webhook_id == fault.details["webhook_id"] and item.answered
                ]
                fault.observed.append(
                    f"same webhook-id delivered again {min(again) - fault.start:.1f}s after the kill"
                    if again
                    else "the held event never came again"
                )
            fault.observed.append(self.readyz_between(fault.start, fault.window_end))

    def run(self) -> int:
        load_before = os.getloadavg()[0]
        self.bring_up()
        lines = self.start_driver()
        log(
            f"load started: {self.seconds} s, {self.cycles} fault cycle(s) of {CYCLE:.0f} s; "
            f"then up to {self.grace:.0f} s for writes still retrying"
        )
        probe = threading.Thread(target=self.probe, name="soak-readyz", daemon=True)
        probe.start()
        self.inject()
        self.at(self.load_end)
        self._probe_stop.set()
        records = self.collect(lines)
        log(f"load done: {len(records)} requests; auditing")
        database = self.audit()
        acked = {r["id"] for r in records if r["cls"] in ("api.write", "api.replay") and r["s"] == 201 and r.get("id")}
        expected = acked | {c["id"] for c in database["contacts"]}
        waited = self.wait_for_webhooks(expected)
        log(f"waited {waited:.1f} s for webhook deliveries to arrive")
        if not expected <= self.receiver.answered_contact_ids():
            database = self.audit()  # the deliveries' state, for the report
        hook = json.loads((self.root / "hook.json").read_text())
        self.describe(records)
        assert self.worker is not None
        exits = [e for e in self.worker.exits if not e.expected]
        note = ""
        if exits:
            note = (
                f"the task worker also exited by itself {len(exits)} time(s) "
                f"(exit codes {sorted({e.code or 0 for e in exits})}, at "
                f"+{', +'.join(f'{e.at - self.t0:.1f}' for e in exits)}s) and was restarted by the soak's supervisor"
            )
        verdict = judge(
            records=records,
            faults=self.faults,
            database=database,
            received=self.receiver.snapshot(),
            hook_secret=hook["secret"],
            t0=self.t0,
        )
        print()
        print(
            f"machine: {os.cpu_count()} CPUs, load average {load_before:.1f} before the soak, "
            f"{os.getloadavg()[0]:.1f} after (other work on it slows every figure below)"
        )
        tuned = ("WEBHOOK_", "API_RATE_LIMIT", "WIDGET_RATE_LIMIT_", "API_REQUEST_LOG_")
        print(
            "servers: config.settings.production, gunicorn -w 2, one db_worker; soak settings: "
            + ", ".join(f"{k}={v}" for k, v in sorted(self.env.items()) if k.startswith(tuned))
        )
        for line in verdict.lines:
            print(line)
        if note:
            print(note)
        print()
        print(verdict.final_line, flush=True)
        return 0 if verdict.ok else 1

    # --- Cleanup, whatever happened.
    def cleanup(self) -> None:
        self._probe_stop.set()
        if self.worker is not None:
            self.worker.shutdown()
        self.receiver.release()
        left = self.children.stop_all(
            {
                "driver": (signal.SIGKILL, 0.0),
                "revoker": (signal.SIGKILL, 0.0),
                "db_worker": (signal.SIGTERM, 3.0),
                "gunicorn": (signal.SIGTERM, 5.0),
                "redis": (signal.SIGTERM, 3.0),
                "postgres": (signal.SIGINT, 10.0),  # fast shutdown
            }
        )
        with contextlib.suppress(Exception):
            self.relay.stop()
        with contextlib.suppress(Exception):
            self.receiver.stop()
        if left:
            print(f"soak: still running after cleanup: {', '.join(left)}", file=sys.stderr)
        if self.keep:
            print(f"soak: kept {self.root}", file=sys.stderr)
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/soak", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=int, default=120, help="length of the load (>= 30; default 120)")
    parser.add_argument("--quick", action="store_true", help="30 seconds: one fault cycle (what CI runs)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, records)")
    args = parser.parse_args(argv)
    seconds = 30 if args.quick else args.seconds
    if seconds < CYCLE:
        parser.error(f"--seconds must be at least {CYCLE:.0f} (one fault cycle)")
    if os.geteuid() != 0:
        parser.error("run it as root: the PostgreSQL cluster runs as the postgres OS user")

    def interrupted(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signal.Signals(signum).name)

    previous: dict[signal.Signals, Callable[..., Any] | int | None] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, interrupted)
    soak: Soak | None = None
    code = 2
    try:
        soak = Soak(seconds, args.keep)
        code = soak.run()
    except Interrupted as exc:
        print(f"\nsoak: interrupted ({exc}); cleaning up", file=sys.stderr)
        code = 128 + signal.Signals[str(exc)].value  # 130 for SIGINT, 143 for SIGTERM
    except SetupError as exc:
        print(f"soak: setup failed: {exc}", file=sys.stderr)
        code = 2
    except Exception:
        traceback.print_exc()
        print("soak: failed (a bug of the soak itself, above)", file=sys.stderr)
        code = 2
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)  # cleanup is not interrupted halfway
        if soak is not None:
            soak.cleanup()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code


if __name__ == "__main__":
    sys.exit(main())
