"""Redis unreachable (SPEC §10): keys are checked against the database, rate limits
keep holding per process, nothing answers 500 and nothing stalls."""

import logging
import time

import pytest

import core.cache
from accounts.actors import Actor
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_redis(settings):
    """The shared cache points at a port where nothing listens (connection refused)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.FailoverRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }


def test_keys_still_authenticate_and_revocation_still_holds(api_client, dead_redis, workspace, owner):
    from apikeys.services import api_key_revoke

    key, plain = factories.make_key(workspace)
    started = time.monotonic()
    assert api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {plain}").status_code == 200
    api_key_revoke(key=key, actor=Actor.for_user(owner))
    response = api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert response.json()["error"]["code"] == "api_key_revoked"
    assert time.monotonic() - started < 2


def test_rate_limits_keep_holding_per_process(api_client, dead_redis, workspace):
    _, plain = factories.make_key(workspace, rate_limit="2/h")
    statuses = [api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {plain}").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_a_warning_is_logged_at_most_once_a_minute(api_client, dead_redis, workspace, caplog):
    _, plain = factories.make_key(workspace)
    core.cache._last_warning[0] = -60.0  # as in a process that has not warned yet
    with caplog.at_level(logging.WARNING, logger="parley.cache"):
        for _ in range(5):
            api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {plain}")
            time.sleep(0.3)  # longer than the 1 s retry window over the loop
    warnings = [r for r in caplog.records if r.name == "parley.cache"]
    assert len(warnings) == 1
    assert "Redis unreachable" in warnings[0].getMessage()
