"""Idle and absolute session timeouts (SPEC §1)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

LOGIN_AT_KEY = "parley_login_at"
SEEN_AT_KEY = "parley_seen_at"
# Refreshing "last seen" on every request would write the session row each time.
SEEN_WRITE_INTERVAL = 60


class SessionTimeoutMiddleware:
    """Ends a session after ``SESSION_IDLE_TIMEOUT`` idle or ``SESSION_ABSOLUTE_TIMEOUT`` total."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(settings.SESSIONLESS_PATHS):
            return self.get_response(request)  # never reads (or writes, or Varies on) the session there
        if request.user.is_authenticated:
            now = int(time.time())
            session = request.session
            login_at = session.setdefault(LOGIN_AT_KEY, now)
            seen_at = session.get(SEEN_AT_KEY, now)
            if now - seen_at > settings.SESSION_IDLE_TIMEOUT or now - login_at > settings.SESSION_ABSOLUTE_TIMEOUT:
                logout(request)
            elif now - seen_at >= SEEN_WRITE_INTERVAL or SEEN_AT_KEY not in session:
                session[SEEN_AT_KEY] = now
        return self.get_response(request)
