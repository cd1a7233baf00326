"""DRF authentication by workspace API key (SPEC §2): who is calling, nothing more.

It claims only what is its own — ``X-Api-Key``, or an ``Authorization: Bearer``
token with a Parley key prefix — and returns ``None`` for anything else, so the
next authenticator (visitor tokens ``wst_…``, sessions) gets its turn, as
Sentry's ``accepts_auth`` and PostHog's ``pha_`` check do.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django_ratelimit.core import get_usage
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from apikeys import keys
from apikeys.cache import key_cache
from apikeys.records import KeyRecord
from apikeys.selectors import api_key_fetch, api_key_held
from core.context import request_state
from core.dbhealth import database_health
from core.errors import (
    KEY_HEADER_HINT,
    ApiKeyExpired,
    ApiKeyRequired,
    ApiKeyRevoked,
    InvalidApiKey,
    RateLimited,
    ServiceUnavailable,
)
from core.net import client_ip

AUTH_FAILURE_GROUP = "apikeys.auth-failure"
# A Bearer token with one of these prefixes is ours, even when mistyped ("wsk_test_…").
CLAIMED_PREFIXES = ("wsk_", "wpk_")
BOTH_HEADERS_HINT = "Authorization and X-Api-Key carry different keys: send one key, in one header."
TOO_MANY_FAILURES = "Too many failed API key attempts."


def _client_ip_key(group: str, request: Any) -> str:
    return client_ip(request)


def claimed_key(request: Request) -> str | None:
    """The API key this request presents, or ``None`` when it presents none of ours.

    Raises ``InvalidApiKey`` when ``X-Api-Key`` and ``Authorization`` disagree.
    """
    meta = getattr(request, "_request", request).META  # the Django request's: DRF's proxy costs a miss a read
    authorization = meta.get("HTTP_AUTHORIZATION", "")
    bearer = None
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer":
            bearer = value.strip() or None
    header = meta.get("HTTP_X_API_KEY")
    if header and (header := header.strip()):
        if authorization and bearer != header:
            raise InvalidApiKey(hint=BOTH_HEADERS_HINT)
        return header
    if bearer is not None and bearer.startswith(CLAIMED_PREFIXES):
        return bearer
    return None


class ApiKeyAuthentication(BaseAuthentication):
    """Authenticates ``Authorization: Bearer <key>`` or ``X-Api-Key: <key>``.

    Returns ``(None, KeyRecord)``: ``request.auth`` is the key, and there is no user.
    Malformed keys are refused before any I/O; unknown, revoked and expired keys are
    401s. Failed attempts are limited per client IP (brute force).
    """

    def authenticate(self, request: Request) -> tuple[None, KeyRecord] | None:
        plain = claimed_key(request)
        if plain is None:
            return None
        digest = keys.digest(plain)
        # A record this process holds is a real key's: its format needs no check (and the
        # checksum is a tenth of a warm request's check). Anything else is checked before any I/O.
        record, epoch = api_key_held(digest)
        if record is None and keys.kind_of(plain) is None:
            self._count_failure(request)
            raise InvalidApiKey
        if not database_health.is_up():  # even a cached key: its liveness cannot be vouched for
            raise ServiceUnavailable
        counted = None
        if record is None:
            record, counted = api_key_fetch(digest, epoch)
        if record is None:
            self._count_failure(request)
            raise InvalidApiKey
        state = request_state(request)
        state.workspace_id, state.credential_hint, state.counted = record.workspace_id, record.hint, counted
        state.key_id = record.id
        state.uncounted_key = digest if counted is None and key_cache.enabled else None
        if record.revoked:
            raise ApiKeyRevoked
        if record.is_expired(time.time()):
            raise ApiKeyExpired
        return None, record

    def _count_failure(self, request: Request) -> None:
        usage = get_usage(
            request,
            group=AUTH_FAILURE_GROUP,
            key=_client_ip_key,
            rate=settings.API_AUTH_FAILURE_RATE,
            increment=True,
        )
        if usage and usage["should_limit"]:
            raise RateLimited(retry_after=usage["time_left"], message=TOO_MANY_FAILURES)

    def authenticate_header(self, request: Request) -> str:
        sent = request.META.get("HTTP_AUTHORIZATION") or request.META.get("HTTP_X_API_KEY")
        return 'Bearer realm="api", error="invalid_token"' if sent else 'Bearer realm="api"'


URL_KEY_PARAMETERS = frozenset({"api_key", "apikey", "key", "access_token", "token"})


def missing_key_error(request: Request) -> ApiKeyRequired | InvalidApiKey:
    """The 401 for a ``/api/v1/`` request that no authenticator claimed, with a hint saying why."""
    scheme = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")[0]
    if scheme.lower() == "basic":
        return InvalidApiKey(hint="Basic authentication is not accepted: send the key as Authorization: Bearer <key>.")
    if scheme:
        return InvalidApiKey(hint="This API takes a secret key (wsk_live_…) as Authorization: Bearer <key>.")
    in_url = any(
        name.lower() in URL_KEY_PARAMETERS or any(v.startswith(CLAIMED_PREFIXES) for v in values)
        for name, values in request.query_params.lists()
    )
    if in_url:
        return ApiKeyRequired(hint=KEY_HEADER_HINT)
    return ApiKeyRequired()
