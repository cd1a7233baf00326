"""Key authentication and the SPEC §2 check order on /api/v1/, as a client sees it."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.request import Request, clone_request

from accounts.actors import Actor
from accounts.models import Plan
from accounts.services import workspace_update
from apikeys import keys, usage
from apikeys.cache import key_cache
from apikeys.models import ApiKey
from apikeys.permissions import required_scope
from apikeys.services import api_key_revoke, api_key_roll
from crm.api_v1 import ContactListApi
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.apikeys.scoped_urls")]
ME = "/api/v1/me"
PROBE = "/api/v1/probe/contacts"


def call(client, key=None, path=ME, method="get", **headers):
    if key is not None:
        headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {key}")
    return getattr(client, method)(path, **headers)


def error_code(response):
    return response.json()["error"]["code"]


def test_me_layout(api_client, workspace, secret_key):
    key, plain = secret_key
    response = call(api_client, plain)
    assert response.status_code == 200
    assert response.json() == {
        "workspace": {"id": workspace.pk, "name": workspace.name, "plan": "pro"},
        "key": {
            "name": key.name,
            "hint": key.hint,
            "kind": "secret",
            "scopes": ["contacts:read", "tickets:write"],
            "expires_at": None,
        },
    }
    assert response["Cache-Control"] == "no-store"
    assert key.digest not in response.content.decode()


def test_x_api_key_header_works(api_client, secret_key):
    assert call(api_client, None, HTTP_X_API_KEY=secret_key[1]).status_code == 200


def test_both_headers_equal_is_fine_different_is_401(api_client, secret_key, workspace):
    _, plain = secret_key
    assert call(api_client, plain, HTTP_X_API_KEY=plain).status_code == 200
    _, other = factories.make_key(workspace)
    response = call(api_client, plain, HTTP_X_API_KEY=other)
    assert response.status_code == 401
    assert error_code(response) == "invalid_api_key"


@pytest.mark.parametrize(
    ("headers", "status", "code", "message"),
    [
        ({}, 401, "api_key_required", "API key required"),
        ({"HTTP_AUTHORIZATION": "Bearer "}, 401, "invalid_api_key", "Invalid API key"),
        ({"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"}, 401, "invalid_api_key", "Invalid API key"),
        ({"HTTP_AUTHORIZATION": "Bearer not-a-key"}, 401, "invalid_api_key", "Invalid API key"),
        ({"HTTP_X_API_KEY": "wsk_live_" + "A" * 38}, 401, "invalid_api_key", "Invalid API key"),
    ],
)
def test_missing_and_malformed_keys(api_client, headers, status, code, message, django_assert_num_queries):
    with django_assert_num_queries(0):  # refused before any database query
        response = api_client.get(ME, **headers)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"] == message
    assert response["WWW-Authenticate"].startswith('Bearer realm="api"')
    if headers:
        assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_bad_checksum_is_refused_without_a_query(api_client, secret_key, django_assert_num_queries):
    plain = secret_key[1]
    tampered = plain[:-1] + ("a" if plain[-1] != "a" else "b")
    with django_assert_num_queries(0):
        response = call(api_client, tampered)
    assert error_code(response) == "invalid_api_key"


def test_unknown_well_formed_key(api_client, db):
    response = call(api_client, keys.generate("secret"))
    assert response.status_code == 401
    assert error_code(response) == "invalid_api_key"


def test_key_in_query_string_is_never_accepted(api_client, secret_key):
    response = api_client.get(f"{ME}?key={secret_key[1]}&api_key={secret_key[1]}")
    assert response.status_code == 401
    assert error_code(response) == "api_key_required"


def test_session_cookie_alone_counts_as_missing_key(client, owner):
    client.force_login(owner)
    response = client.get(ME)
    assert response.status_code == 401
    assert error_code(response) == "api_key_required"


def test_revoked_key(api_client, secret_key, owner):
    key, plain = secret_key
    assert call(api_client, plain).status_code == 200  # warms the cache when there is one
    api_key_revoke(key=key, actor=Actor.for_user(owner))
    response = call(api_client, plain)
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "api_key_revoked",
        "message": "API key has been revoked",
        "request_id": response["X-Request-Id"],
    }


def test_expired_key(api_client, workspace):
    key, plain = factories.make_key(workspace, expires_at=timezone.now() + timedelta(seconds=60))
    assert call(api_client, plain).status_code == 200
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    key_cache.invalidate(key.digest, key.cache_version + 1)
    ApiKey.objects.filter(pk=key.pk).update(cache_version=key.cache_version + 1)
    response = call(api_client, plain)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "API key has expired"


def test_expiry_in_cached_record_is_honoured_without_invalidation(api_client, workspace, settings):
    import time

    _, plain = factories.make_key(workspace, expires_at=timezone.now() + timedelta(seconds=2))
    assert call(api_client, plain).status_code == 200
    time.sleep(2.1)
    assert error_code(call(api_client, plain)) == "api_key_expired"


def test_roll_with_grace_keeps_old_key_until_grace_ends(api_client, secret_key, owner):
    key, old_plain = secret_key
    _, new_plain = api_key_roll(key=key, actor=Actor.for_user(owner), grace=timedelta(hours=1))
    assert call(api_client, old_plain).status_code == 200
    assert call(api_client, new_plain).status_code == 200
    # the grace period ends: the old key stops working, the new one goes on
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    key.refresh_from_db()
    key_cache.invalidate(key.digest, key.cache_version + 1)
    ApiKey.objects.filter(pk=key.pk).update(cache_version=key.cache_version + 1)
    assert error_code(call(api_client, old_plain)) == "api_key_expired"
    assert call(api_client, new_plain).status_code == 200


def test_roll_now_expires_old_key_immediately(api_client, secret_key, owner):
    key, old_plain = secret_key
    assert call(api_client, old_plain).status_code == 200
    _, new_plain = api_key_roll(key=key, actor=Actor.for_user(owner), grace=timedelta(0))
    assert error_code(call(api_client, old_plain)) == "api_key_expired"
    assert call(api_client, new_plain).status_code == 200


def test_publishable_key_is_refused_on_the_rest_api(api_client, workspace):
    _, plain = factories.make_key(workspace, kind="publishable")
    response = call(api_client, plain)
    assert response.status_code == 403
    assert error_code(response) == "permission_denied"


@pytest.mark.parametrize(
    ("allowed", "remote", "ok"),
    [
        (["203.0.113.5"], "203.0.113.5", True),
        (["203.0.113.5"], "203.0.113.6", False),
        (["203.0.113.0/24"], "203.0.113.77", True),
        (["203.0.113.0/24"], "198.51.100.1", False),
        (["2001:db8::/32"], "2001:db8:1::9", True),
        (["2001:db8::/32"], "2001:db9::1", False),
        (["2001:db8::1"], "2001:db8::1", True),
        (["203.0.113.5"], "::ffff:203.0.113.5", True),  # IPv4-mapped
        ([], "198.51.100.1", True),
    ],
)
def test_ip_allowlist(api_client, workspace, allowed, remote, ok):
    _, plain = factories.make_key(workspace, allowed_ips=allowed)
    response = call(api_client, plain, REMOTE_ADDR=remote)
    assert response.status_code == (200 if ok else 403)
    if not ok:
        assert error_code(response) == "ip_not_allowed"


def test_spoofed_x_forwarded_for_is_ignored_without_trusted_proxies(api_client, workspace):
    _, plain = factories.make_key(workspace, allowed_ips=["203.0.113.5"])
    response = call(api_client, plain, REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert error_code(response) == "ip_not_allowed"


def test_x_forwarded_for_entry_chosen_by_trusted_proxy_count(api_client, workspace, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    _, plain = factories.make_key(workspace, allowed_ips=["203.0.113.5"])
    # the client forged the first entry; our one proxy appended the real address
    forwarded = "203.0.113.99, 203.0.113.5"
    assert call(api_client, plain, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded).status_code == 200
    forged = "203.0.113.5, 198.51.100.1"
    assert error_code(call(api_client, plain, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forged)) == "ip_not_allowed"


@pytest.mark.parametrize(
    ("allowed", "headers", "ok"),
    [
        (["https://shop.example.com"], {"HTTP_ORIGIN": "https://shop.example.com"}, True),
        (["https://shop.example.com"], {"HTTP_ORIGIN": "https://evil.example.com"}, False),
        (["https://shop.example.com"], {"HTTP_ORIGIN": "http://shop.example.com"}, False),
        (["https://shop.example.com"], {"HTTP_REFERER": "https://shop.example.com/cart?x=1"}, True),
        (["https://shop.example.com"], {"HTTP_REFERER": "https://other.example.com/"}, False),
        (["https://*.example.com"], {"HTTP_ORIGIN": "https://a.b.example.com"}, True),
        (["https://*.example.com"], {"HTTP_ORIGIN": "https://example.com"}, False),
        (["https://*.example.com"], {"HTTP_ORIGIN": "https://badexample.com"}, False),
        (["https://shop.example.com"], {}, False),  # missing origin
        (["https://shop.example.com"], {"HTTP_ORIGIN": "null"}, False),
        (["*"], {"HTTP_ORIGIN": "null"}, True),
        ([], {}, True),
    ],
)
def test_origin_allowlist(api_client, workspace, allowed, headers, ok):
    _, plain = factories.make_key(workspace, allowed_origins=allowed)
    response = call(api_client, plain, **headers)
    assert response.status_code == (200 if ok else 403), response.content
    if not ok:
        assert response.json()["error"] == {
            "code": "origin_not_allowed",
            "message": "Request origin is not allowed.",
            "request_id": response["X-Request-Id"],
        }


def test_suspended_workspace(api_client, workspace, secret_key):
    assert call(api_client, secret_key[1]).status_code == 200
    workspace_update(workspace=workspace, actor=Actor.system("Support"), status="suspended")
    response = call(api_client, secret_key[1])
    assert response.status_code == 403
    assert error_code(response) == "workspace_inactive"


def test_missing_scope_names_it(api_client, workspace):
    _, plain = factories.make_key(workspace, scopes=["tickets:read"])
    response = call(api_client, plain, PROBE)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "missing_scope"
    assert response.json()["error"]["required_scope"] == "contacts:read"
    assert response.json()["error"]["message"] == "This API key lacks the contacts:read scope."


def test_write_implies_read(api_client, workspace):
    _, plain = factories.make_key(workspace, scopes=["contacts:write"])
    assert call(api_client, plain, PROBE).status_code == 200
    assert call(api_client, plain, PROBE, method="post").status_code == 201


def test_read_does_not_imply_write(api_client, workspace):
    _, plain = factories.make_key(workspace, scopes=["contacts:read"])
    response = call(api_client, plain, PROBE, method="post")
    assert response.json()["error"]["required_scope"] == "contacts:write"


def test_write_request_after_downgrade_to_free(api_client, workspace):
    _, plain = factories.make_key(workspace, scopes=["contacts:write"])
    assert call(api_client, plain, PROBE, method="post").status_code == 201
    workspace_update(workspace=workspace, actor=Actor.system("Support"), plan=Plan.FREE)
    response = call(api_client, plain, PROBE, method="post")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "plan_upgrade_required"
    assert response.json()["error"]["message"] == "This action requires a Pro plan or higher."
    assert call(api_client, plain, PROBE).status_code == 200  # reads still work


def test_view_without_declared_scopes_fails_closed_as_json_500(api_client, secret_key):
    response = call(api_client, secret_key[1], "/api/v1/probe/forgetful")
    assert response.status_code == 500
    assert error_code(response) == "server_error"
    assert "Traceback" not in response.content.decode()
    assert "ImproperlyConfigured" not in response.content.decode()


# --- the check order: a request failing two checks gets the first one's error


def test_order_revoked_beats_publishable_and_ip(api_client, workspace, owner):
    key, plain = factories.make_key(workspace, kind="publishable", allowed_ips=["10.0.0.1"])
    api_key_revoke(key=key, actor=Actor.for_user(owner))
    assert error_code(call(api_client, plain, REMOTE_ADDR="203.0.113.1")) == "api_key_revoked"


def test_order_publishable_beats_ip(api_client, workspace):
    _, plain = factories.make_key(workspace, kind="publishable", allowed_ips=["10.0.0.1"])
    assert error_code(call(api_client, plain, REMOTE_ADDR="203.0.113.1")) == "permission_denied"


def test_order_ip_beats_origin(api_client, workspace):
    _, plain = factories.make_key(workspace, allowed_ips=["10.0.0.1"], allowed_origins=["https://a.example.com"])
    response = call(api_client, plain, REMOTE_ADDR="203.0.113.1", HTTP_ORIGIN="https://b.example.com")
    assert error_code(response) == "ip_not_allowed"


def test_order_origin_beats_workspace_inactive(api_client, workspace):
    _, plain = factories.make_key(workspace, allowed_origins=["https://a.example.com"])
    workspace_update(workspace=workspace, actor=Actor.system("Support"), status="suspended")
    assert error_code(call(api_client, plain, HTTP_ORIGIN="https://b.example.com")) == "origin_not_allowed"


def test_order_workspace_inactive_beats_rate_limit_and_scope(api_client, workspace):
    _, plain = factories.make_key(workspace, scopes=["tickets:read"], rate_limit="1/h")
    workspace_update(workspace=workspace, actor=Actor.system("Support"), status="suspended")
    for _ in range(3):
        assert error_code(call(api_client, plain, PROBE)) == "workspace_inactive"


def test_order_rate_limit_beats_missing_scope(api_client, workspace):
    _, plain = factories.make_key(workspace, scopes=["tickets:read"], rate_limit="2/h")
    assert error_code(call(api_client, plain, PROBE)) == "missing_scope"
    response = call(api_client, plain, PROBE)
    assert error_code(response) == "missing_scope"
    assert response["X-RateLimit-Remaining"] == "0"
    assert error_code(call(api_client, plain, PROBE)) == "rate_limited"


def test_order_missing_scope_beats_plan(api_client, free_workspace):
    _, plain = factories.make_key(free_workspace, scopes=["tickets:read"])
    assert error_code(call(api_client, plain, PROBE, method="post")) == "missing_scope"


# --- rate limits


def test_rate_limit_headers_and_429(api_client, workspace):
    _, plain = factories.make_key(workspace, rate_limit="3/h")
    remaining = []
    for _ in range(3):
        response = call(api_client, plain)
        assert response.status_code == 200
        assert response["X-RateLimit-Limit"] == "3"
        assert 0 < int(response["X-RateLimit-Reset"]) <= 3600
        assert response["RateLimit-Policy"] == '"key";q=3;w=3600'
        assert response["RateLimit"] == f'"key";r={response["X-RateLimit-Remaining"]};t={response["X-RateLimit-Reset"]}'
        remaining.append(response["X-RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]
    limited = call(api_client, plain)
    assert limited.status_code == 429
    assert error_code(limited) == "rate_limited"
    assert 0 < int(limited["Retry-After"]) <= 3600
    assert limited["X-RateLimit-Remaining"] == "0"
    assert limited["RateLimit"].startswith('"key";r=0;t=')


def test_default_rate_limit_comes_from_settings(api_client, secret_key):
    assert call(api_client, secret_key[1])["X-RateLimit-Limit"] == "1000"


def test_failed_401s_carry_no_rate_limit_headers(api_client, db):
    refused = call(api_client, keys.generate("secret"))
    assert "X-RateLimit-Limit" not in refused
    assert "RateLimit-Policy" not in refused
    assert "RateLimit" not in refused


def test_failed_attempts_are_limited_per_ip(api_client, secret_key, settings):
    settings.API_AUTH_FAILURE_RATE = "3/m"
    for _ in range(3):
        assert call(api_client, keys.generate("secret"), REMOTE_ADDR="198.51.100.7").status_code == 401
    response = call(api_client, keys.generate("secret"), REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 429
    assert "Retry-After" in response
    # another client is unaffected
    assert call(api_client, keys.generate("secret"), REMOTE_ADDR="198.51.100.8").status_code == 401


# --- cost on the hot path


def test_key_check_is_one_query_or_none_on_a_cache_hit(api_client, secret_key, django_assert_num_queries):
    _, plain = secret_key
    call(api_client, plain)  # first use: fills the cache and writes last_used
    with django_assert_num_queries(0 if key_cache.enabled else 1):
        assert call(api_client, plain).status_code == 200


def test_last_used_is_written_by_the_request_log_at_most_once_a_minute(api_client, secret_key):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    key, plain = secret_key
    with CaptureQueriesContext(connection) as queries:
        call(api_client, plain, REMOTE_ADDR="203.0.113.20")
    writes = [q for q in queries.captured_queries if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))]
    assert writes == []  # nothing on the request path: the buffer's hand-off writes it
    usage.flush()
    key.refresh_from_db()
    first = key.last_used_at
    assert first is not None
    assert key.last_used_ip == "203.0.113.20"
    for _ in range(5):
        call(api_client, plain, REMOTE_ADDR="203.0.113.21")
    usage.flush()
    key.refresh_from_db()
    assert (key.last_used_at, key.last_used_ip) == (first, "203.0.113.20")
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        call(api_client, plain, REMOTE_ADDR="203.0.113.22")
        usage.flush()
    key.refresh_from_db()
    assert key.last_used_ip == "203.0.113.22"
    assert key.last_used_at > first


@pytest.mark.skipif(not key_cache.enabled, reason="the key cache exists only with REDIS_URL")
def test_an_unreadable_cache_entry_falls_back_to_the_database(api_client, secret_key):
    from django.core.cache import cache

    key, plain = secret_key
    assert call(api_client, plain).status_code == 200
    cache.raw_client().hset(key_cache._entry_key(key.digest), "record", '{"from": "another release"}')
    assert call(api_client, plain).status_code == 200


def test_the_scope_checked_is_that_of_the_method_drf_asks_about(rf):
    """DRF's ``clone_request`` (used to ask "may this caller POST?") gives the request a method of its own."""
    request = Request(rf.get("/api/v1/contacts"))
    assert required_scope(request, ContactListApi()) == "contacts:read"
    assert required_scope(clone_request(request, "POST"), ContactListApi()) == "contacts:write"
