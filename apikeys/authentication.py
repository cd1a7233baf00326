"""DRF authentication by workspace API key (SPEC §2): who is calling, nothing more."""

from __future__ import annotations

import time

from django.conf import settings
from django_ratelimit.core import get_usage
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from apikeys import keys
from apikeys.records import KeyRecord
from apikeys.selectors import key_lookup
from core.errors import ApiKeyExpired, ApiKeyRevoked, InvalidApiKey, RateLimited
from core.net import client_ip

AUTH_FAILURE_GROUP = "apikeys.auth-failure"


def _client_ip_key(group: str, request: Request) -> str:
    return client_ip(request)


def presented_key(request: Request) -> str | None:
    """The key sent as ``Authorization: Bearer`` or ``X-Api-Key``; raises if they differ."""
    bearer = None
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise InvalidApiKey
        bearer = value.strip()
    header = request.META.get("HTTP_X_API_KEY", "").strip() or None
    if bearer and header and bearer != header:
        raise InvalidApiKey
    return bearer or header


class ApiKeyAuthentication(BaseAuthentication):
    """Authenticates ``Authorization: Bearer <key>`` or ``X-Api-Key: <key>``.

    Returns ``(None, KeyRecord)``: ``request.auth`` is the key, and there is no user.
    Malformed keys are refused before any I/O; unknown, revoked and expired keys are
    401s. Failed attempts are limited per client IP (brute force).
    """

    def authenticate(self, request: Request) -> tuple[None, KeyRecord] | None:
        plain = presented_key(request)
        if plain is None:
            return None
        if keys.kind_of(plain) is None:
            self._count_failure(request)
            raise InvalidApiKey
        digest = keys.digest(plain)
        in_flight = getattr(request._request, "key_lookup_in_flight", None)
        if in_flight is not None and in_flight.digest != digest:
            in_flight = None
        record, usage = key_lookup(digest, in_flight)
        if record is None:
            self._count_failure(request)
            raise InvalidApiKey
        request._request.api_key = record  # for the request log line
        request.key_usage = usage  # counted by the lookup when it came from Redis
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
            raise RateLimited(retry_after=usage["time_left"], message="Too many failed API key attempts.")

    def authenticate_header(self, request: Request) -> str:
        sent = request.META.get("HTTP_AUTHORIZATION") or request.META.get("HTTP_X_API_KEY")
        return 'Bearer realm="api", error="invalid_token"' if sent else 'Bearer realm="api"'
