"""DRF permission classes for API keys, in the check order of SPEC §2.

A view lists them in this order; the first failure wins:
publishable key → IP → origin → workspace status → rate limit → scope → plan.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.permissions import plan_allows_scopes
from apikeys.records import KeyRecord
from apikeys.scopes import grants
from apikeys.throttling import count_request
from core.context import request_state
from core.errors import (
    ApiKeyRequired,
    Forbidden,
    IpNotAllowed,
    MissingScope,
    OriginNotAllowed,
    PlanUpgradeRequired,
    RateLimited,
    WorkspaceInactive,
)
from core.net import client_ip, request_origin
from core.origins import origin_allowed


def _key(request: Request) -> KeyRecord:
    if not isinstance(request.auth, KeyRecord):
        raise ApiKeyRequired
    return request.auth


def ip_allowed(ip: str, allowed: list[str]) -> bool:
    """Whether ``ip`` is inside one of the allowed addresses/CIDR ranges (empty: all)."""
    if not allowed:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for entry in allowed:
        network = ipaddress.ip_network(entry, strict=False)
        if address.version == network.version and address in network:
            return True
    return False


PUBLISHABLE_KEY_REFUSED = "Publishable keys only work with the widget endpoints."


class IsSecretKey(BasePermission):
    """A secret key is required; a publishable key is refused with 403."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if _key(request).kind != "secret":
            raise Forbidden(PUBLISHABLE_KEY_REFUSED)
        return True


class KeyIpAllowed(BasePermission):
    """The client IP must be in the key's ``allowed_ips``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not ip_allowed(client_ip(request), _key(request).allowed_ips):
            raise IpNotAllowed
        return True


class KeyOriginAllowed(BasePermission):
    """``Origin`` (else the origin of ``Referer``) must match ``allowed_origins``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not origin_allowed(request_origin(request), _key(request).allowed_origins):
            raise OriginNotAllowed
        return True


class KeyWorkspaceActive(BasePermission):
    """The key's workspace must not be suspended."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if _key(request).workspace_status != "active":
            raise WorkspaceInactive
        return True


class KeyWithinRateLimit(BasePermission):
    """Counts the request against the key's limit; 429 once it is spent."""

    def has_permission(self, request: Request, view: Any) -> bool:
        usage = request_state(request).rate_limit = count_request(request, _key(request))
        if usage.exceeded:
            raise RateLimited(retry_after=usage.reset or 1)
        return True


def required_scope(request: Request, view: Any) -> str | None:
    scopes = getattr(view, "required_scopes", None)
    method = "GET" if request.method == "HEAD" else (request.method or "GET")
    if scopes is None or (method not in scopes and method != "OPTIONS" and hasattr(view, method.lower())):
        raise ImproperlyConfigured(f"{type(view).__name__} must declare required_scopes for {method}.")
    return scopes.get(method)


class HasScope(BasePermission):
    """The key holds the scope the view declares for this method (``X:write`` ⊃ ``X:read``).

    Views declare ``required_scopes = {"GET": "contacts:read", ...}``; a method
    mapped to ``None`` needs no scope.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        scope = required_scope(request, view)
        if scope and not grants(_key(request).scopes, scope):
            raise MissingScope(scope)
        return True


class PlanAllowsScope(BasePermission):
    """A ``:write`` scope needs a paid plan, even on a key created before a downgrade."""

    def has_permission(self, request: Request, view: Any) -> bool:
        scope = required_scope(request, view)
        if scope and not plan_allows_scopes(_key(request).workspace_plan, [scope]):
            raise PlanUpgradeRequired
        return True


KEY_PERMISSIONS = [
    IsSecretKey,
    KeyIpAllowed,
    KeyOriginAllowed,
    KeyWorkspaceActive,
    KeyWithinRateLimit,
    HasScope,
    PlanAllowsScope,
]
