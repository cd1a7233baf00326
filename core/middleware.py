"""Request id and JSON log line, body-size limit, ``no-store``, JSON errors under ``/api/`` (SPEC §3, §10)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse

from core.context import RequestState
from core.dbhealth import DATABASE_ERRORS, database_health
from core.errors import (
    NotFound,
    PayloadTooLarge,
    ServiceError,
    ServiceUnavailable,
    error_response,
    service_error_response,
)
from core.metrics import AUTH_FAILURE_CODES, AUTH_FAILURES, RATE_LIMITED
from core.net import client_ip

access_logger = logging.getLogger("parley.request")

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
CREDENTIAL_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_X_API_KEY")


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


class RequestIdMiddleware:
    """Give every request an id (``X-Request-Id``) and log one JSON line for it.

    An incoming id is only trusted behind a proxy we trust (``TRUSTED_PROXY_COUNT``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        incoming = request.headers.get("X-Request-Id", "")
        trusted = settings.TRUSTED_PROXY_COUNT > 0 and REQUEST_ID_PATTERN.match(incoming)
        state = request.state = RequestState(request_id=incoming if trusted else uuid.uuid4().hex)  # type: ignore[attr-defined]  # core.context documents it
        response = self.get_response(request)
        response["X-Request-Id"] = state.request_id
        match = getattr(request, "resolver_match", None)
        if state.error_code in AUTH_FAILURE_CODES:
            AUTH_FAILURES.labels(state.error_code).inc()
        elif state.error_code == "rate_limited":
            RATE_LIMITED.labels(match.route if match else "").inc()
        access_logger.info(
            "request",
            extra={
                "request_id": state.request_id,
                "method": request.method,
                "route": match.route if match else None,
                "status": response.status_code,
                "error_code": state.error_code or None,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "workspace_id": state.workspace_id,
                "key_hint": state.credential_hint or None,
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


class RequestBodyLimitMiddleware:
    """Refuses bodies over ``MAX_REQUEST_BODY_BYTES`` (1 MiB) before any view reads them (413), and
    header values over ``MAX_HEADER_BYTES`` (8 KiB, 400)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads an unparsable length as an empty body
        if length > settings.MAX_REQUEST_BODY_BYTES:
            return too_large(request)
        for name, value in request.META.items():
            if name.startswith("HTTP_") and isinstance(value, str) and len(value) > settings.MAX_HEADER_BYTES:
                return header_too_large(request, name[5:].replace("_", "-").title())
        return self.get_response(request)


def too_large(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return service_error_response(request, PayloadTooLarge())
    return HttpResponse(PayloadTooLarge.message, status=413, content_type="text/plain")


def header_too_large(request: HttpRequest, header: str) -> HttpResponse:
    message = f"The {header} header is longer than 8 KiB."
    if is_api(request):
        return service_error_response(request, ServiceError(message, hint="Send shorter header values."))
    return HttpResponse(message, status=400, content_type="text/plain")


class ApiJsonErrorsMiddleware:
    """Under ``/api/`` every error is JSON (SPEC §3), DEBUG or not: 404s, 405s and 500s included.

    It sits inside the security, CSP and framing middleware, so its answers carry
    their headers like every other response.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not is_api(request) or response.get("Content-Type", "").startswith(("application/json", "text/xml")):
            return response
        if response.status_code == 404:
            return service_error_response(request, NotFound())
        if response.status_code == 405:
            return error_response(request, 405, "method_not_allowed", "Method not allowed.")
        if response.status_code >= 500:
            return error_response(request, 500, "server_error", "Internal server error.")
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api(request):
            return None
        if isinstance(exception, Http404):
            return service_error_response(request, NotFound())
        if isinstance(exception, ServiceError):
            return service_error_response(request, exception)
        if isinstance(exception, DATABASE_ERRORS):
            database_health.mark_down(exception)
            return service_error_response(request, ServiceUnavailable())
        logging.getLogger("django.request").error(
            "Unhandled exception on %s", request.path, exc_info=(type(exception), exception, exception.__traceback__)
        )
        return error_response(request, 500, "server_error", "Internal server error.")
