"""DRF authentication by widget visitor token (``Authorization: Bearer wst_…``, SPEC §5).

Like ``ApiKeyAuthentication`` it claims only its own prefix and returns ``None``
otherwise. It says who is calling (which session); whether that session may use
this assistant, from this origin, is ``widget.access``'s question.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django_ratelimit.core import get_usage
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from core.errors import InvalidSessionToken, RateLimited
from core.net import client_ip
from widget import tokens
from widget.models import VisitorSession
from widget.selectors import visitor_session_lookup

AUTH_FAILURE_GROUP = "widget.auth-failure"


def bearer_token(request: Request) -> str | None:
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value.startswith(tokens.PREFIX) else None


class WidgetAuthenticateHeader(BaseAuthentication):
    """Authenticates nobody; makes DRF answer a widget endpoint's 401s with ``WWW-Authenticate`` (RFC 6750)."""

    def authenticate(self, request: Request) -> tuple[None, Any] | None:
        return None

    def authenticate_header(self, request: Request) -> str:
        sent = request.META.get("HTTP_AUTHORIZATION")
        return 'Bearer realm="api", error="invalid_token"' if sent else 'Bearer realm="api"'


class VisitorTokenAuthentication(WidgetAuthenticateHeader):
    """``request.auth`` is the ``VisitorSession`` of a known token (expiry is checked by ``widget.access``)."""

    def authenticate(self, request: Request) -> tuple[None, VisitorSession] | None:
        token = bearer_token(request)
        if token is None:
            return None
        session = visitor_session_lookup(token) if tokens.well_formed(token) else None
        if session is None:
            self._count_failure(request)
            raise InvalidSessionToken
        return None, session

    def _count_failure(self, request: Request) -> None:
        usage = get_usage(
            request,
            group=AUTH_FAILURE_GROUP,
            key=lambda group, req: client_ip(req),
            rate=settings.API_AUTH_FAILURE_RATE,
            increment=True,
        )
        if usage and usage["should_limit"]:
            raise RateLimited(retry_after=usage["time_left"], message="Too many failed visitor token attempts.")
