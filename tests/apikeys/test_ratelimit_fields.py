"""The IETF rate-limit fields (draft-ietf-httpapi-ratelimit-headers-11) beside ``X-RateLimit-*``.

Every answer that carries ``X-RateLimit-*`` also carries ``RateLimit-Policy: "key";q=<limit>;w=<window>``
and ``RateLimit: "key";r=<remaining>;t=<reset>``, with the same numbers; answers refused before the
rate-limit step carry neither. Driven through the real API of each kind of answer a key can get.
"""

from __future__ import annotations

import re

import pytest

from accounts.actors import Actor
from accounts.models import Plan
from accounts.services import workspace_update
from apikeys import keys
from apikeys.services import api_key_revoke
from tests import factories

pytestmark = pytest.mark.django_db
POLICY = re.compile(r'^"key";q=(\d+);w=(\d+)$')
STATE = re.compile(r'^"key";r=(\d+);t=(\d+)$')
X_NAMES = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
IETF_NAMES = ("RateLimit-Policy", "RateLimit")


def ietf_fields(response) -> tuple[int, int, int, int]:
    """``(q, w, r, t)`` of an answer that carries ``X-RateLimit-*``, checked against those numbers."""
    assert all(name in response for name in X_NAMES), response.headers
    policy = POLICY.match(response["RateLimit-Policy"])
    state = STATE.match(response["RateLimit"])
    assert policy, response["RateLimit-Policy"]
    assert state, response["RateLimit"]
    q, w = int(policy[1]), int(policy[2])
    r, t = int(state[1]), int(state[2])
    assert q == int(response["X-RateLimit-Limit"])
    assert r == int(response["X-RateLimit-Remaining"])
    assert t == int(response["X-RateLimit-Reset"])
    assert 0 <= t <= w
    return q, w, r, t


def assert_no_rate_limit_fields(response) -> None:
    for name in (*X_NAMES, *IETF_NAMES):
        assert name not in response, (name, response.status_code)


def auth(plain: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {plain}"}


@pytest.mark.parametrize(
    ("rate", "limit", "window"),
    [("", 1000, 3600), ("500/h", 500, 3600), ("30/m", 30, 60), ("10/5m", 10, 300), ("5000/d", 5000, 86400)],
)
def test_the_window_is_the_keys_rate_period(api_client, workspace, rate, limit, window):
    _, plain = factories.make_key(workspace, rate_limit=rate)
    q, w, r, _t = ietf_fields(api_client.get("/api/v1/me", **auth(plain)))
    assert (q, w, r) == (limit, window, limit - 1)


def test_every_kind_of_answer_past_the_rate_limit_step_carries_both(api_client, workspace, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    _, plain = factories.make_key(
        workspace, scopes=["contacts:read", "contacts:write", "events:read"], rate_limit="100/h"
    )
    contact = factories.make_contact(workspace, email="taken@example.com")
    headers = auth(plain)
    answers = [
        api_client.get("/api/v1/me", **headers),  # 200
        api_client.get("/api/v1/contacts?limit=2", **headers),  # 200, a list
        api_client.post("/api/v1/contacts", {"email": "ada@example.com"}, format="json", **headers),  # 201
        api_client.post("/api/v1/contacts", {"email": "TAKEN@example.com"}, format="json", **headers),  # 409
        api_client.post("/api/v1/contacts", {"workspace": 1}, format="json", **headers),  # 400
        api_client.get("/api/v1/contacts?limit=many", **headers),  # 400, a query
        api_client.get("/api/v1/contacts/ct_doesnotexist", **headers),  # 404
        api_client.get("/api/v1/tickets", **headers),  # 403 missing_scope
        api_client.delete(f"/api/v1/contacts/{contact.public_id}", **headers),  # 204
    ]
    hook = api_client.post(
        "/api/v1/hooks", {"target_url": "http://127.0.0.1:9/hook", "event": "contact.created"}, format="json", **headers
    )
    answers.append(hook)  # 201
    first = api_client.post(
        "/api/v1/contacts", {"email": "bob@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1", **headers
    )
    replay = api_client.post(
        "/api/v1/contacts", {"email": "bob@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1", **headers
    )
    answers += [first, replay]
    assert replay["Idempotent-Replayed"] == "true"
    assert [a.status_code for a in answers] == [200, 200, 201, 409, 400, 400, 404, 403, 204, 201, 201, 201]
    remaining = [ietf_fields(answer)[2] for answer in answers]
    assert remaining == list(range(99, 99 - len(answers), -1))  # one count per request, the same in both fields


def test_a_write_scope_on_the_free_plan_is_refused_after_the_count(api_client, workspace):
    _, plain = factories.make_key(workspace, scopes=["contacts:write"], rate_limit="10/m")
    workspace_update(workspace=workspace, actor=Actor.system("Support"), plan=Plan.FREE)
    response = api_client.post("/api/v1/contacts", {"email": "ada@example.com"}, format="json", **auth(plain))
    assert response.json()["error"]["code"] == "plan_upgrade_required"
    assert ietf_fields(response)[:3] == (10, 60, 9)


def test_429_carries_both_with_nothing_left(api_client, workspace):
    _, plain = factories.make_key(workspace, rate_limit="2/m")
    for expected in (1, 0):
        assert ietf_fields(api_client.get("/api/v1/me", **auth(plain)))[2] == expected
    for _ in range(2):
        limited = api_client.get("/api/v1/me", **auth(plain))
        assert limited.status_code == 429
        q, w, r, t = ietf_fields(limited)
        assert (q, w, r) == (2, 60, 0)
        assert 0 < int(limited["Retry-After"]) <= 60
        assert t <= 60


def test_answers_refused_before_the_rate_limit_step_carry_neither(api_client, workspace, owner):
    revoked, revoked_plain = factories.make_key(workspace)
    api_key_revoke(key=revoked, actor=Actor.for_user(owner))
    _, fenced = factories.make_key(workspace, allowed_ips=["10.0.0.1"])
    _, publishable = factories.make_key(workspace, kind="publishable")
    for response in [
        api_client.get("/api/v1/me"),  # no key
        api_client.get("/api/v1/me", **auth(keys.generate("secret"))),  # unknown
        api_client.get("/api/v1/me", **auth(revoked_plain)),  # revoked
        api_client.get("/api/v1/me", REMOTE_ADDR="203.0.113.1", **auth(fenced)),  # ip_not_allowed
        api_client.get("/api/v1/me", **auth(publishable)),  # publishable
    ]:
        assert response.status_code in (401, 403)
        assert_no_rate_limit_fields(response)
