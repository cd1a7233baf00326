"""The benchmark's measurements: load rounds per endpoint, worker CPU, queries, revocation latency."""

from __future__ import annotations

import http.client
import io
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Endpoint:
    name: str
    port: int
    master: int  # gunicorn master pid (its workers are measured)
    path: str
    headers: dict[str, str]
    rates: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)
    queries: float = 0.0
    # The req/s and worker CPU of the baseline driven right beside each of this endpoint's rounds (its pair).
    paired_rates: list[float] = field(default_factory=list)
    paired_cpu_us: list[float] = field(default_factory=list)
    rounds: list[int] = field(default_factory=list)  # the round of each of ``rates``


def workers_cpu(master: int) -> float:
    """Seconds of CPU the master's worker processes have used, every thread of theirs included.

    From each thread's ``/proc/<pid>/task/<tid>/schedstat`` (the scheduler's run time, in
    nanoseconds), not ``/proc/<pid>/stat``'s clock ticks: a half-pair of 0.5 s is some 35
    ticks of a worker's CPU, so a tick is ±3 % of it, where a nanosecond count has no such step.
    """
    pids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True, check=False)
    total = 0
    for pid in pids.stdout.split():
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as stat:
                    total += int(stat.read().split()[0])
            except OSError:  # the thread (or the worker) has ended
                continue
    return total / 1e9


def drive(endpoint: Endpoint, seconds: float, concurrency: int, *, record: bool = True) -> None:
    """``concurrency`` client threads for ``seconds``; records req/s, latencies, worker CPU (unless a warm-up)."""
    count = [0] * concurrency
    errors = [0] * concurrency
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    deadline = time.perf_counter() + seconds

    def worker(i: int) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=5)
            conn.request("GET", endpoint.path, headers=endpoint.headers)
            response = conn.getresponse()
            response.read()
            conn.close()
            latencies[i].append(time.perf_counter() - started)
            if response.status == 200:
                count[i] += 1
            else:
                errors[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    cpu_before = workers_cpu(endpoint.master)
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    cpu = workers_cpu(endpoint.master) - cpu_before
    if sum(errors):
        raise SystemExit(f"{sum(errors)} non-200 answers on {endpoint.name} ({endpoint.path})")
    done = sum(count)
    if not record:
        return
    endpoint.rates.append(done / elapsed)
    endpoint.cpu_us.append(cpu / done * 1e6)
    for samples in latencies:
        endpoint.latencies.extend(samples)


def rounds(groups: list[tuple[Endpoint, Endpoint]], n: int, seconds: float, concurrency: int, first: int = 0) -> None:
    """``n`` rounds over every endpoint (numbered from ``first``: a run may be measured in
    several calls, on fresh servers each time, see bench_keys), after a warm-up of each
    endpoint. A group is ``[baseline, endpoint]``: the endpoint and the no-check endpoint of its
    server, driven as a pair of ``seconds`` each, split in halves around each other (baseline,
    endpoint, endpoint, baseline: a drift of the VM's speed over those seconds weighs on both
    sides alike); every other round the other way round (endpoint, baseline, baseline,
    endpoint), so neither side always runs right after the other's work (such as the request log
    its task worker stores). A pair's rate and CPU are the means of its two halves. The groups'
    order rotates each round (no endpoint always goes first); a group listed more than once is
    measured that many times a round."""
    for endpoint in {id(e): e for group in groups for e in group}.values():  # caches filled, connections made
        drive(endpoint, 0.5, concurrency, record=False)
    for r in range(first, first + n):
        for baseline, endpoint in groups[r % len(groups) :] + groups[: r % len(groups)]:
            outer, inner = (baseline, endpoint) if r % 2 == 0 else (endpoint, baseline)
            for e in (outer, inner, inner, outer):
                drive(e, seconds / 2, concurrency)
            for e in (baseline, endpoint):
                _merge_halves(e, r)
            endpoint.paired_rates.append(baseline.rates[-1])
            endpoint.paired_cpu_us.append(baseline.cpu_us[-1])


def _merge_halves(e: Endpoint, round_: int) -> None:
    """The last two runs of ``e`` (a pair's two halves) as one: their mean rate and CPU."""
    rates, cpu = e.rates[-2:], e.cpu_us[-2:]
    del e.rates[-2:], e.cpu_us[-2:]
    e.rates.append(statistics.fmean(rates))
    e.cpu_us.append(statistics.fmean(cpu))
    e.rounds.append(round_)


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def table(endpoints: list[Endpoint], baseline: Endpoint) -> dict[str, float]:
    """Print one line per endpoint; returns each one's ratio to its server's baseline.

    An endpoint's baseline is the no-check endpoint on its own server (its port) when one is
    among ``endpoints``, else ``baseline``: two gunicorns of the same code differ by a few
    per cent in speed (which worker processes, where their memory landed), so a server is
    compared with itself. ``ratio`` is the median of the pairs' ratios (the endpoint's req/s
    over its baseline's in the same pair); ``of medians`` divides the two medians instead,
    which the VM's drift moves more. ``+CPU`` is the same kind of figure for the workers' CPU:
    the median of the pairs' differences (the endpoint's CPU per request minus its baseline's
    in the same pair), and ``+CPU %`` the median of the pairs' quotients, less one: the VM's
    speed moves microseconds (a slower minute makes every request dearer), a share much less.
    """
    baselines: dict[int, Endpoint] = {}
    for e in [baseline, *endpoints]:  # the first no-check endpoint of each server
        if e.path == baseline.path:
            baselines.setdefault(e.port, e)
    ratios = {}

    def per_round(e: Endpoint) -> str:
        if e.paired_rates:  # an endpoint measured more than once a round: the median of its pairs in each round
            by_round: dict[int, list[float]] = {}
            for round_, rate in zip(e.rounds, e.rates, strict=True):
                by_round.setdefault(round_, []).append(rate)
            return " ".join(f"{statistics.median(rates):.0f}" for rates in by_round.values())
        return f"({len(e.rates)} pairs, beside each)"  # a baseline, beside every endpoint of its server

    width = max(34, *(len(per_round(e)) for e in endpoints))
    print(
        f"{'endpoint':34} {'req/s per round':{width}} {'median':>7} {'ratio':>6} {'of medians':>10} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'CPU us/req':>10} {'+CPU':>6} {'+CPU %':>6} {'queries':>7}"
    )
    for e in endpoints:
        own = baselines.get(e.port, baseline)
        base = statistics.median(own.rates)
        median = statistics.median(e.rates)
        pairs = zip(e.rates, e.paired_rates, strict=True)
        paired = statistics.median([rate / beside for rate, beside in pairs]) if e.paired_rates else 1.0
        ratios[e.name] = paired
        # A baseline (beside every endpoint of its server, no pair of its own) reads +0.
        cpu_pairs = list(zip(e.cpu_us, e.paired_cpu_us, strict=True)) if e.paired_cpu_us else [(1.0, 1.0)]
        extra = statistics.median([cpu - beside for cpu, beside in cpu_pairs])
        share = statistics.median([cpu / beside - 1 for cpu, beside in cpu_pairs]) * 100
        print(
            f"{e.name:34} {per_round(e):{width}} {median:7.0f} {paired:6.2f} {median / base:10.2f} "
            f"{pct(e.latencies, 0.5):7.2f} {pct(e.latencies, 0.99):7.2f} {statistics.median(e.cpu_us):10.0f} "
            f"{extra:+6.0f} {share:+5.1f}% {e.queries:7.1f}"
        )
    return ratios


def queries_per_request(path: str, headers: dict[str, str], n: int = 50, **overrides: Any) -> float:
    """Queries per request, in this process, through Django's WSGI handler (after a warm-up)."""
    from django.core.wsgi import get_wsgi_application
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    app = get_wsgi_application()
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()},
    }

    def call() -> None:
        body = app({**environ, "wsgi.input": io.BytesIO(b"")}, lambda *args: None)  # type: ignore[arg-type]  # no writer needed
        b"".join(body)
        body.close()

    with override_settings(**overrides):
        for _ in range(5):
            call()
        time.sleep(0.3)  # the tracking connection is up: warm requests are what is counted
        for _ in range(5):
            call()
        with CaptureQueriesContext(connection) as captured:
            for _ in range(n):
                call()
    return len(captured.captured_queries) / n


def revocation_latency(
    port: int, make_key: Callable[[], tuple[Any, str]], revoke: Callable[[Any], object], trials: int, concurrency: int
) -> tuple[list[float], int]:
    """Under load on both workers: ms from ``revoke`` returning to the first 401 answered, per trial,
    and how many requests started after it returned were accepted (should be 0)."""
    current = [""]
    log: list[tuple[str, float, float, int]] = []  # key, started, finished, status
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            plain = current[0]
            if not plain:
                time.sleep(0.001)
                continue
            started = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {plain}"})
            status = conn.getresponse().status
            conn.close()
            log.append((plain, started, time.perf_counter(), status))

    threads = [threading.Thread(target=hammer) for _ in range(concurrency)]
    for t in threads:
        t.start()
    latencies, accepted = [], 0
    try:
        for _ in range(trials):
            key, plain = make_key()
            current[0] = plain
            deadline = time.perf_counter() + 2
            while time.perf_counter() < deadline and sum(1 for k, *_, s in log[-30:] if k == plain and s == 200) < 6:
                time.sleep(0.001)
            revoke(key)
            returned = time.perf_counter()
            deadline = returned + 2
            first = None
            while first is None and time.perf_counter() < deadline:
                first = next((f for k, _, f, s in log[-30:] if k == plain and s == 401), None)
                time.sleep(0.0005)
            time.sleep(0.01)
            latencies.append(max(0.0, (first or deadline) - returned) * 1000)
            accepted += sum(1 for k, s0, _, s in log[-60:] if k == plain and s0 > returned and s == 200)
    finally:
        stop.set()
        for t in threads:
            t.join()
    return latencies, accepted


def histogram(latencies: list[float]) -> None:
    edges = [0.5, 1, 2, 5, 10, 20, 50, 100, float("inf")]
    low = 0.0
    for high in edges:
        n = sum(1 for x in latencies if low <= x < high)
        label = f"{low:g}-{high:g} ms" if high != float("inf") else f">= {low:g} ms"
        print(f"  {label:>12} {n:4d} {'#' * (n * 60 // max(1, len(latencies)))}")
        low = high
    print(
        f"  median {statistics.median(latencies):.2f} ms, p99 {pct([x / 1000 for x in latencies], 0.99):.2f} ms, "
        f"max {max(latencies):.2f} ms over {len(latencies)} revocations"
    )
