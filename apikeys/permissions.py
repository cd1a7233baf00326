"""The DRF permission of ``/api/v1/``: the SPEC §2 check chain over a key record."""

from __future__ import annotations

import functools
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


def required_scope(request: Request, view: Any) -> str | None:
    """The scope ``view`` requires for the request's method (``None``: none). A view class that
    declares none for a method it answers is a programming error (``ImproperlyConfigured``)."""
    # DRF's ``clone_request`` gives a Request a method of its own; else the Django request's (read
    # directly: through DRF's proxy a read misses first).
    method = vars(request).get("method") or getattr(request, "_request", request).method
    return _scope_of(view.__class__, method or "GET")


@functools.lru_cache(maxsize=1024)  # a view class's scopes are class attributes: answered once per method
def _scope_of(view_class: Any, method: str) -> str | None:  # a view class
    scopes = getattr(view_class, "required_scopes", None)
    method = "GET" if method == "HEAD" else method
    if scopes is None or (method not in scopes and method != "OPTIONS" and hasattr(view_class, method.lower())):
        raise ImproperlyConfigured(f"{view_class.__name__} must declare required_scopes for {method}.")
    return scopes.get(method)


class KeyChecks(BasePermission):
    """The whole SPEC §2 chain after authentication, in its order; the first failure wins.

    publishable key → IP → origin → workspace status → rate limit → scope → plan.
    One object over the flat ``KeyRecord``: each fact is read once (the view's scope,
    the client IP). Views declare ``required_scopes = {"GET": "contacts:read", ...}``;
    a method mapped to ``None`` needs no scope (``X:write`` implies ``X:read``).
    """

    # What each step refuses, in order (the OpenAPI document lists them: apikeys.schema).
    STEPS = ("secret_key", "ip", "origin", "workspace_active", "rate_limit", "scope", "plan")

    def has_permission(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, KeyRecord):
            raise ApiKeyRequired
        if key.kind != "secret":
            raise Forbidden(PUBLISHABLE_KEY_REFUSED)
        if key.allowed_ips and not ip_allowed(client_ip(request), key.allowed_ips):
            raise IpNotAllowed
        if key.allowed_origins and not origin_allowed(request_origin(request), key.allowed_origins):
            raise OriginNotAllowed
        if key.workspace_status != "active":
            raise WorkspaceInactive
        state = request_state(request)
        usage = state.rate_limit = count_request(request, key, state)
        if usage.exceeded:
            raise RateLimited(retry_after=usage.reset or 1)
        scope = required_scope(request, view)
        if scope:
            if not grants(key.scopes, scope):
                raise MissingScope(scope)
            if not plan_allows_scopes(key.workspace_plan, [scope]):
                raise PlanUpgradeRequired
        return True


KEY_PERMISSIONS = [KeyChecks]
