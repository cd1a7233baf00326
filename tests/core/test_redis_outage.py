"""Redis unreachable from a real server process (SPEC §10), blackholed or refused through a proxy of the test's own.

Keys keep authenticating (against PostgreSQL), rate limits keep holding (counted per
process), nothing answers 500 or stalls past the 200 ms socket timeouts, and /readyz
says ``degraded``. PostgreSQL + Redis pass only.
"""

from __future__ import annotations

import os
import time
from urllib.parse import urlsplit

import pytest
import requests

from tests import factories
from tests.faults import FaultProxy
from tests.live import start_server, stop_server

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
        reason="needs PostgreSQL + Redis shared with a server process (DATABASE_URL and REDIS_URL)",
    ),
]


@pytest.fixture
def server_behind_redis_proxy(transactional_db):
    redis = urlsplit(os.environ["REDIS_URL"])
    proxy = FaultProxy(upstream=(redis.hostname or "127.0.0.1", redis.port or 6379)).start()
    proc, url = start_server(env={"REDIS_URL": f"redis://127.0.0.1:{proxy.port}{redis.path or '/0'}"})
    yield proxy, url
    stop_server(proc)
    proxy.stop()


@pytest.mark.parametrize("fault", ["refuse", "blackhole"])
def test_keys_work_limits_hold_and_readyz_degrades(server_behind_redis_proxy, fault):
    proxy, url = server_behind_redis_proxy
    workspace = factories.make_workspace()
    _key, plain = factories.make_key(workspace, rate_limit="6/h")
    headers = {"Authorization": f"Bearer {plain}"}
    assert requests.get(f"{url}/api/v1/me", headers=headers, timeout=5).status_code == 200
    assert requests.get(f"{url}/readyz", timeout=5).json()["status"] == "ok"

    getattr(proxy, fault)()
    statuses, slowest = [], 0.0
    for _ in range(8):
        started = time.monotonic()
        statuses.append(requests.get(f"{url}/api/v1/me", headers=headers, timeout=5).status_code)
        slowest = max(slowest, time.monotonic() - started)
    # Counted per process from the cut on: 6 allowed (never unlimited), then 429; never a 500.
    assert statuses == [200] * 6 + [429, 429]
    assert slowest < 1.5  # one 200 ms timeout at most per request, not seconds of retries
    ready = requests.get(f"{url}/readyz", timeout=5)
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["cache"] == "down"
    assert (
        requests.get(f"{url}/api/v1/me", headers={"Authorization": "Bearer wsk_live_nope"}, timeout=5).status_code
        == 401
    )

    proxy.restore()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and requests.get(f"{url}/readyz", timeout=5).json()["status"] != "ok":
        time.sleep(0.2)
    assert requests.get(f"{url}/readyz", timeout=5).json()["status"] == "ok"
