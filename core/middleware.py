"""Request id and JSON log line, body-size limit, ``no-store``, JSON errors under ``/api/`` (SPEC §3, §10),
and the per-IP limit on what anyone may call without signing in."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django_ratelimit.core import get_usage

from core.conf import hot
from core.context import RequestState
from core.dbhealth import DATABASE_ERRORS, database_health
from core.errors import (
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceError,
    ServiceUnavailable,
    error_response,
    service_error_response,
)
from core.metrics import AUTH_FAILURE_CODES, AUTH_FAILURES, RATE_LIMITED
from core.net import client_ip

access_logger = logging.getLogger("parley.request")

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


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
        trusted = hot.TRUSTED_PROXY_COUNT > 0 and REQUEST_ID_PATTERN.match(incoming)
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
        meta = request.META
        if meta.get("HTTP_AUTHORIZATION") or meta.get("HTTP_X_API_KEY") or hot.SESSION_COOKIE_NAME in request.COOKIES:
            # Into the header store as ``response["Cache-Control"] = …`` puts it, less its charset checks.
            response.headers._store["cache-control"] = ("Cache-Control", "no-store")
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
        if length > hot.MAX_REQUEST_BODY_BYTES:
            return too_large(request)
        most = hot.MAX_HEADER_BYTES
        for name, value in request.META.items():
            if name.startswith("HTTP_") and isinstance(value, str) and len(value) > most:
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


KEY_PREFIXES = ("wsk_", "wpk_")


def _presents_api_key(request: HttpRequest) -> bool:
    """What ``apikeys`` claims (and counts: per key, or as a failed attempt per IP)."""
    meta = request.META
    if meta.get("HTTP_X_API_KEY"):
        return True
    scheme, _, token = meta.get("HTTP_AUTHORIZATION", "").partition(" ")
    return scheme.lower() == "bearer" and token.strip().startswith(KEY_PREFIXES)


def rate_limited_response(request: HttpRequest, retry_after: int) -> HttpResponse:
    """429 ``rate_limited`` with ``Retry-After``: JSON under ``/api/``, plain text elsewhere."""
    if is_api(request):
        return service_error_response(request, RateLimited(retry_after=retry_after))
    response = HttpResponse(RateLimited.message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(max(1, retry_after))
    return response


class PublicRateLimitMiddleware:
    """``PUBLIC_RATE_LIMIT`` per client IP on every request of someone not signed in that no other
    limit counts: the login, sign-up and password pages, SSO, the API's schema and docs, the widget
    demo, and anonymous calls of the APIs. Left to their own limits: ``PUBLIC_RATE_LIMIT_EXEMPT``
    (the widget's and Twilio's endpoints; the load balancer's probes and ``/metrics``) and requests
    to ``/api/v1/`` that present an API key (counted per key, or as failed attempts per IP).

    It runs after the session middleware, so a signed-in user is never counted here.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self._counted_elsewhere(request):
            usage = get_usage(
                request,
                group="core.public",
                key=lambda group, req: client_ip(req),
                rate=settings.PUBLIC_RATE_LIMIT,
                increment=True,
            )
            if usage is not None and usage["should_limit"]:
                request.state.error_code = "rate_limited"  # type: ignore[attr-defined]  # RequestIdMiddleware's
                return rate_limited_response(request, int(usage["time_left"]))
        return self.get_response(request)

    @staticmethod
    def _counted_elsewhere(request: HttpRequest) -> bool:
        path = request.path_info
        if path.startswith(tuple(hot.PUBLIC_RATE_LIMIT_EXEMPT)):
            return True
        if path.startswith("/api/v1/"):
            return _presents_api_key(request)  # a session means nothing there: never read it (no Vary: Cookie)
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated)
