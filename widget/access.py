"""Who may use an assistant's widget, from where (SPEC §5): the checks every widget endpoint runs.

Order, first failure wins:
- IP-limited endpoints (``config``, ``session``, ``qnas``, ``search``, ``tickets``): 429 per client IP (every
  request counts) → 404 unknown assistant or widget off → 403 ``workspace_inactive``
  → 403 ``origin_not_allowed`` (the assistant's list) → the publishable key, when one is
  sent: 401 ``invalid_api_key`` / ``api_key_revoked`` / ``api_key_expired``, 403
  ``ip_not_allowed`` / ``origin_not_allowed`` (the key's lists).
- Token endpoints (``chat``, ``history``, ``lead``, ``feedback``): 404 → 401
  ``invalid_session_token`` (missing, unknown, expired, another assistant's) → 403
  ``workspace_inactive`` → 403 ``origin_not_allowed`` (the assistant's, then the key's)
  → 401 if the session's publishable key was revoked or expired since → 429 per token (and, for
  ``lead`` and ``feedback``, per client IP as well).
The ``null`` origin is never allowed, whatever the lists say.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from apikeys import keys
from apikeys.models import ApiKey
from apikeys.permissions import ip_allowed
from apikeys.records import KeyRecord
from apikeys.selectors import api_key_lookup
from apikeys.usage import key_used
from core.errors import (
    ApiKeyExpired,
    ApiKeyRevoked,
    InvalidApiKey,
    InvalidSessionToken,
    IpNotAllowed,
    NotFound,
    OriginNotAllowed,
    WorkspaceInactive,
)
from core.net import client_ip, request_origin
from core.origins import origin_allowed
from widget import limits
from widget.models import VisitorSession
from widget.profiles import WidgetProfile, widget_profile

NO_WIDGET = "No such assistant, or its widget is not enabled."
NO_WIDGET_HINT = "Check data-assistant: it is the assistant's id (ast_…), and the widget must be enabled on it."
SECRET_KEY_IN_PAGE = (
    "This is a secret key: never put it in a web page. Roll it in Settings → API Keys now, "  # noqa: S105  (a message)
    "and give the widget a publishable key (wpk_live_…)."
)
OTHER_WORKSPACE_KEY = "This publishable key belongs to another workspace than this assistant."
EXPIRED_SESSION_HINT = "This visitor session has expired: start a new one with POST /api/widget/{assistant}/session."


def origin_passes(origin: str | None, allowed: list[str]) -> bool:
    """The widget's origin rule: the allowlist of SPEC §2, and never the ``null`` origin."""
    return origin != "null" and origin_allowed(origin, allowed)


def _check_origin(request: HttpRequest, allowed: list[str], whose: str) -> None:
    origin = request_origin(request)
    if not origin_passes(origin, allowed):
        shown = (origin or "")[:100]
        hint = (
            f"Add {shown} to {whose} allowed origins."
            if shown and shown != "null"
            else "Call the widget endpoints from a web page of an allowed origin (the Origin header is required)."
        )
        raise OriginNotAllowed(hint=hint)


def assistant_profile(assistant_id: str) -> WidgetProfile:
    profile = widget_profile(assistant_id)
    if profile is None:
        raise NotFound(NO_WIDGET, hint=NO_WIDGET_HINT)
    return profile


def check_assistant(request: HttpRequest, profile: WidgetProfile) -> None:
    if not profile.workspace_active:
        raise WorkspaceInactive
    _check_origin(request, profile.allowed_origins, "the assistant's")


def public_access(request: HttpRequest, assistant_id: str, endpoint: str) -> WidgetProfile:
    """The checks of an endpoint anyone may call (``config``, ``session``), up to the key."""
    limits.count(request, endpoint, client_ip(request))
    profile = assistant_profile(assistant_id)
    check_assistant(request, profile)
    return profile


def publishable_key_check(request: HttpRequest, plain: str, profile: WidgetProfile) -> KeyRecord:
    """A publishable key of the assistant's workspace, live, and allowing this IP and origin."""
    kind = keys.kind_of(plain)
    if kind == "secret":
        raise InvalidApiKey(hint=SECRET_KEY_IN_PAGE)
    record = api_key_lookup(keys.digest(plain))[0] if kind else None
    if record is None:
        raise InvalidApiKey(hint="Copy the publishable key (wpk_live_…) again from Settings → API Keys.")
    if record.revoked:
        raise ApiKeyRevoked
    if record.is_expired(timezone.now().timestamp()):
        raise ApiKeyExpired
    if record.workspace_id != profile.workspace_id:
        raise InvalidApiKey(hint=OTHER_WORKSPACE_KEY)
    ip = client_ip(request)
    if not ip_allowed(ip, record.allowed_ips):
        raise IpNotAllowed
    _check_origin(request, record.allowed_origins, "the publishable key's")
    key_used(key_id=record.id, ip=ip)  # last used, moved off the request path by the request log's buffer
    return record


def _check_session_key(request: HttpRequest, key: ApiKey) -> None:
    if key.revoked_at is not None:
        raise ApiKeyRevoked(hint="The publishable key of this session was revoked: the site needs a new one.")
    if key.expires_at is not None and key.expires_at <= timezone.now():
        raise ApiKeyExpired(hint="The publishable key of this session has expired: the site needs a new one.")
    _check_origin(request, key.allowed_origins, "the publishable key's")


def session_access(
    request: HttpRequest, assistant_id: str, session: VisitorSession | None, endpoint: str
) -> VisitorSession:
    """The checks of a token endpoint; returns the live session."""
    profile = assistant_profile(assistant_id)
    if session is None:
        raise InvalidSessionToken(message="Visitor session token required")
    if session.assistant_id != profile.assistant_pk:
        raise InvalidSessionToken  # exactly an unknown token's answer: nothing about the token's own assistant
    if session.expires_at() <= timezone.now():
        raise InvalidSessionToken(hint=EXPIRED_SESSION_HINT)
    check_assistant(request, profile)
    if session.api_key is not None:
        _check_session_key(request, session.api_key)
    limits.count(request, endpoint, session.digest)
    if f"{endpoint}_ip" in settings.WIDGET_RATE_LIMITS:  # lead, feedback: what lands in the CRM, per IP too
        limits.count(request, f"{endpoint}_ip", client_ip(request))
    return session
