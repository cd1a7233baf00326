"""Session authentication for the in-app API, refusing a missing CSRF token in our own words."""

from __future__ import annotations

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from core.errors import CsrfFailed


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's, with its CSRF refusal as ``CsrfFailed``: the same code, message and hint as
    Django's CSRF failure view gives (``core.views.csrf_failure``)."""

    def enforce_csrf(self, request: Request) -> None:
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            raise CsrfFailed from exc
