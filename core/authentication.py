"""Session authentication for the in-app API, with the project's CSRF refusal.

DRF checks CSRF itself for session-authenticated writes (its views are exempt from
Django's middleware) and answers "CSRF Failed: …" with no hint; this answers the
same ``CsrfFailed`` as the pages' CSRF failure view (``core.views.csrf_failure``).
"""

from __future__ import annotations

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from core.errors import CsrfFailed


class SessionAuthentication(authentication.SessionAuthentication):
    def enforce_csrf(self, request: Request) -> None:
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            raise CsrfFailed from exc
