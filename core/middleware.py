"""Request id, per-request JSON log line and ``Cache-Control: no-store`` (SPEC §10)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.net import client_ip

access_logger = logging.getLogger("parley.request")

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
CREDENTIAL_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_X_API_KEY")


class RequestIdMiddleware:
    """Give every request an id (``X-Request-Id``) and log one JSON line for it.

    An incoming id is only trusted behind a proxy we trust (``TRUSTED_PROXY_COUNT``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        incoming = request.headers.get("X-Request-Id", "")
        if settings.TRUSTED_PROXY_COUNT > 0 and REQUEST_ID_PATTERN.match(incoming):
            request.request_id = incoming  # type: ignore[attr-defined]  # set on the request for views and logs
        else:
            request.request_id = uuid.uuid4().hex  # type: ignore[attr-defined]  # see above
        response = self.get_response(request)
        response["X-Request-Id"] = request.request_id  # type: ignore[attr-defined]  # set above
        match = getattr(request, "resolver_match", None)
        api_key = getattr(request, "api_key", None)
        access_logger.info(
            "request",
            extra={
                "request_id": request.request_id,  # type: ignore[attr-defined]  # set above
                "method": request.method,
                "route": match.route if match else None,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "workspace_id": getattr(api_key, "workspace_id", None),
                "key_hint": getattr(api_key, "hint", None),
                "client_ip": client_ip(request),
            },
        )
        return response


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every answer to a request that carried a credential."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        carried = any(request.META.get(h) for h in CREDENTIAL_HEADERS) or (
            settings.SESSION_COOKIE_NAME in request.COOKIES
        )
        if carried:
            response["Cache-Control"] = "no-store"
        return response


class ApiJsonErrorsMiddleware:
    """Under ``/api/`` every error is JSON (SPEC §3), DEBUG or not: 404s and 500s included."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code in (404, 405)
            and not response.get("Content-Type", "").startswith(("application/json", "text/xml"))
        ):
            from core.errors import error_response

            if response.status_code == 404:
                return error_response(request, 404, "not_found", "Not found.")
            return error_response(request, 405, "method_not_allowed", "Method not allowed.")
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith("/api/"):
            return None
        from django.http import Http404

        from core.errors import error_response

        if isinstance(exception, Http404):
            return error_response(request, 404, "not_found", "Not found.")
        logging.getLogger("django.request").error(
            "Unhandled exception on %s", request.path, exc_info=(type(exception), exception, exception.__traceback__)
        )
        return error_response(request, 500, "server_error", "Internal server error.")
