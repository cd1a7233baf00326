"""Key records held in each server process (apikeys/localcache.py), across real processes on PostgreSQL + Redis.

A warm request makes no round trip, yet a revocation is refused on the very next
request; a process whose tracking connection is cut trusts nothing it holds until it
has resynchronised; rate limits counted in batches overshoot by at most processes x
batch; and a Redis restart (empty, scripts forgotten) loses no revocation.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests
from django.conf import settings as django_settings
from django.core.cache import caches

from accounts.actors import Actor
from apikeys.services import api_key_revoke
from tests import factories
from tests.faults import FaultProxy
from tests.live import free_port, start_server, stop_server

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
        reason="needs PostgreSQL + Redis shared by several processes (DATABASE_URL and REDIS_URL)",
    ),
]


TRIALS = 200


def me(url: str, key: str, session: requests.Session | None = None) -> requests.Response:
    return (session or requests).get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {key}"}, timeout=5)


def local_hits(url: str) -> float:
    """How many key lookups the server answered from its own memory (its /metrics)."""
    text = requests.get(f"{url}/metrics", timeout=5).text
    match = re.search(r'^parley_key_cache_lookups_total\{result="local"\} (\S+)$', text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def wait_for_local_hits(url: str, key: str, timeout: float = 5.0) -> None:
    """Until the server answers ``key`` from memory (its tracking connection is up and synced)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = local_hits(url)
        assert me(url, key).status_code == 200
        assert me(url, key).status_code == 200
        if local_hits(url) > before:
            return
        time.sleep(0.1)
    raise AssertionError("the server never answered from its local key records")


@pytest.fixture
def server(transactional_db):
    proc, url = start_server(env={"API_KEY_CACHE_TTL": "300"})
    yield url
    stop_server(proc)


def test_a_key_revoked_under_load_is_refused_on_the_next_request_200_times(server):
    workspace = factories.make_workspace()
    actor = Actor.for_user(factories.owner_of(workspace))
    current: list[str] = [""]
    results: list[tuple[str, float, int]] = []  # (key, started, status)
    stop = threading.Event()

    def hammer() -> None:
        session = requests.Session()
        while not stop.is_set():
            plain = current[0]
            if not plain:
                time.sleep(0.001)
                continue
            started = time.monotonic()
            try:
                status = me(server, plain, session).status_code
            except requests.RequestException:
                status = 0  # counted: an answer that is neither accepted nor refused fails the test
            results.append((plain, started, status))

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for thread in threads:
        thread.start()
    revoked_at: dict[str, float] = {}
    try:
        _first, first_plain = factories.make_key(workspace, rate_limit="100000/h")
        wait_for_local_hits(server, first_plain)
        served_from_memory = 0
        for _ in range(TRIALS):
            key, plain = factories.make_key(workspace, rate_limit="100000/h")
            trial_hits = local_hits(server)
            current[0] = plain
            # Until the server answers this key from its memory (its first lookup fills Redis,
            # whose invalidation push drops the record once; the next read keeps it).
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and not (
                sum(1 for k, _, s in results[-20:] if k == plain and s == 200) >= 3 and local_hits(server) > trial_hits
            ):
                time.sleep(0.01)
            served_from_memory += local_hits(server) > trial_hits
            api_key_revoke(key=key, actor=actor)
            revoked_at[plain] = time.monotonic()
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and not any(
                k == plain and t > revoked_at[plain] for k, t, _ in results[-20:]
            ):
                time.sleep(0.002)
        # Nearly every revoked key was being served from memory (a process that missed a tracking
        # heartbeat under load reads Redis meanwhile: its trial still checks the refusal).
        assert served_from_memory >= TRIALS * 0.9, f"only {served_from_memory} of {TRIALS} keys served from memory"
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    after = [(k, s) for k, t, s in results if k in revoked_at and t > revoked_at[k]]
    assert len({k for k, _ in after}) == TRIALS  # every trial saw requests after its revoke
    accepted = [k for k, s in after if s == 200]
    assert accepted == [], f"{len(accepted)} requests accepted after revoke_key returned"
    assert {s for _, s in after} == {401}


def test_a_cut_tracking_connection_stops_local_trust_at_once_and_recovers(transactional_db):
    redis = urlsplit(os.environ["REDIS_URL"])
    proxy = FaultProxy(upstream=(redis.hostname or "127.0.0.1", redis.port or 6379)).start()
    proc, url = start_server(
        env={"API_KEY_CACHE_TTL": "300", "API_KEY_TRACKING_URL": f"redis://127.0.0.1:{proxy.port}{redis.path or '/0'}"}
    )
    try:
        workspace = factories.make_workspace()
        actor = Actor.for_user(factories.owner_of(workspace))
        key, plain = factories.make_key(workspace)
        wait_for_local_hits(url, plain)

        proxy.blackhole()  # only the invalidations are cut: the server still reaches Redis for everything else
        api_key_revoke(key=key, actor=actor)  # its invalidation cannot reach the server
        response = me(url, plain)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "api_key_revoked"
        other, other_plain = factories.make_key(workspace)
        before = local_hits(url)
        for _ in range(5):
            assert me(url, other_plain).status_code == 200
        assert local_hits(url) == before  # nothing is trusted from memory while the link is down

        proxy.restore()
        wait_for_local_hits(url, other_plain)  # resynchronised: memory again
        api_key_revoke(key=other, actor=actor)
        assert me(url, other_plain).status_code == 401
    finally:
        stop_server(proc)
        proxy.stop()


def test_rate_limit_overshoot_under_two_processes_stays_within_processes_times_batch(transactional_db):
    servers = [start_server(env={"API_KEY_CACHE_TTL": "300"}) for _ in range(2)]
    urls = [url for _, url in servers]
    try:
        limit, bound = 1000, 2 * django_settings.API_RATE_LIMIT_BATCH
        workspace = factories.make_workspace()
        _, plain = factories.make_key(workspace, rate_limit=f"{limit}/h")
        statuses: list[int] = []

        def hammer(url: str) -> None:
            session = requests.Session()
            while statuses.count(429) < 20:
                statuses.append(me(url, plain, session).status_code)

        threads = [threading.Thread(target=hammer, args=(url,)) for url in urls * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        accepted = statuses.count(200)
        assert set(statuses) == {200, 429}
        assert limit <= accepted <= limit + bound, f"{accepted} accepted for a limit of {limit} (bound {bound})"
    finally:
        for proc, _ in servers:
            stop_server(proc)


@pytest.fixture
def own_redis():
    """A Redis of the test's own, on a free port, that the test can kill and start again empty."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    argv = [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"]

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, check=False).stdout:
                    return proc
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    state = {"proc": start()}

    def restart(between=None) -> None:  # type: ignore[no-untyped-def]  # test helper
        state["proc"].send_signal(signal.SIGKILL)
        state["proc"].wait()
        if between is not None:
            between()
        state["proc"] = start()

    yield f"redis://127.0.0.1:{port}/0", restart
    state["proc"].send_signal(signal.SIGKILL)
    state["proc"].wait()


def test_a_redis_restart_loses_no_revocation(transactional_db, own_redis, settings):
    location, restart = own_redis
    proc, url = start_server(env={"API_KEY_CACHE_TTL": "300", "REDIS_URL": location})
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": location}}
    try:
        workspace = factories.make_workspace()
        actor = Actor.for_user(factories.owner_of(workspace))
        before, before_plain = factories.make_key(workspace)  # revoked just before the restart
        during, during_plain = factories.make_key(workspace)  # revoked while Redis is down
        _survivor, survivor_plain = factories.make_key(workspace)
        for plain in (before_plain, during_plain, survivor_plain):
            wait_for_local_hits(url, plain)
        assert caches["default"].get("probe") is None  # this process talks to the same Redis

        api_key_revoke(key=before, actor=actor)
        restart(between=lambda: api_key_revoke(key=during, actor=actor))  # empty, its scripts forgotten

        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            statuses = [me(url, before_plain).status_code, me(url, during_plain).status_code]
            assert statuses == [401, 401]
            if me(url, survivor_plain).status_code == 200 and local_hits(url) > 0:
                break
            time.sleep(0.1)
        wait_for_local_hits(url, survivor_plain)  # tracking back, scripts loaded again
        for plain in (before_plain, during_plain):
            response = me(url, plain)
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "api_key_revoked"
    finally:
        stop_server(proc)
