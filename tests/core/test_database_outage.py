"""PostgreSQL going away (SPEC §10): 503 ``service_unavailable`` within 2 s, and back within 5 s, no restart.

A real gunicorn server talks to PostgreSQL through a proxy of the test's own that
is cut off (connections dropped and the port closed, or a blackhole that swallows
everything); nothing of ours is patched. PostgreSQL + Redis pass only.
"""

from __future__ import annotations

import os
import time

import pytest
import requests
from django.db import connection

from tests import factories
from tests.faults import FaultProxy
from tests.live import database_url, start_server, stop_server

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
        reason="needs PostgreSQL + Redis shared with a server process (DATABASE_URL and REDIS_URL)",
    ),
]


@pytest.fixture
def server_behind_proxy(transactional_db):
    db = connection.settings_dict
    proxy = FaultProxy(upstream=(db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432))).start()
    url_through_proxy = database_url().replace(f":{db.get('PORT') or 5432}/", f":{proxy.port}/")
    proc, url = start_server(env={"DATABASE_URL": url_through_proxy, "DATABASE_CONN_MAX_AGE": "60"})
    yield proxy, url
    stop_server(proc)
    proxy.stop()


def get(url: str, key: str | None = None, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.get(url, headers=headers, timeout=10, **kwargs)


def wait_for(predicate, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s")


@pytest.mark.parametrize("fault", ["refuse", "blackhole"])
def test_requests_with_credentials_get_503_and_recover_without_a_restart(server_behind_proxy, fault):
    proxy, url = server_behind_proxy
    workspace = factories.make_workspace()
    _key, plain = factories.make_key(workspace)
    assert get(f"{url}/api/v1/me", plain).status_code == 200
    assert get(f"{url}/api/v1/me", plain).status_code == 200  # cached in Redis now

    getattr(proxy, fault)()
    time.sleep(1.1)  # the process's last probe is now too old: the next request probes
    started = time.monotonic()
    response = get(f"{url}/api/v1/me", plain)
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response.json()["error"]["message"] == "Service temporarily unavailable."
    assert response.headers["Retry-After"] == "5"
    assert elapsed < 2.9  # the 2 s connect timeout, and some slack for the blackhole
    # A malformed key is still refused without the database; /healthz still answers.
    assert get(f"{url}/api/v1/me", "wsk_live_nonsense").status_code == 401
    assert get(f"{url}/healthz").json() == {"status": "ok"}
    ready = get(f"{url}/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "down"
    assert ready.json()["database"] == "down"
    page = get(f"{url}/settings/api-keys/", cookies={"authjs.session-token": "x" * 32})
    assert page.status_code == 503
    assert page.headers["Content-Type"].startswith("text/plain")
    assert "Traceback" not in page.text

    proxy.restore()
    back = wait_for(lambda: get(f"{url}/api/v1/me", plain).status_code == 200, seconds=5)
    assert back < 5
    assert get(f"{url}/readyz").json()["status"] == "ok"
