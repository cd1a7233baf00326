"""JSON answers for CSRF and rate-limit refusals under ``/api/``, and the health endpoint.

404s, 405s and 500s under ``/api/`` are answered by ``core.middleware.ApiJsonErrorsMiddleware``.
"""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.cache import never_cache

from core.dbhealth import DATABASE_ERRORS, database_health
from core.errors import CsrfFailed, RateLimited, ServiceUnavailable, error_response, service_error_response
from core.health import readiness
from core.middleware import is_api


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if is_api(request):
        return service_error_response(request, CsrfFailed())
    from django.views.csrf import csrf_failure as default

    return default(request, reason)


def ratelimited(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """django-ratelimit's ``RATELIMIT_VIEW``: a 429, JSON under ``/api/``."""
    if is_api(request):
        return service_error_response(request, RateLimited(retry_after=60))
    response = HttpResponse(RateLimited.message, status=429, content_type="text/plain")
    response["Retry-After"] = "60"
    return response


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: answers while the process serves, touching nothing else."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 503 while the database is unreachable, 200 ``degraded`` while only Redis is."""
    status, body = readiness()
    return JsonResponse(body, status=status)


def unavailable(request: HttpRequest) -> HttpResponse:
    """503 ``service_unavailable``: JSON under ``/api/``, a plain page elsewhere, both with ``Retry-After``."""
    if is_api(request):
        return service_error_response(request, ServiceUnavailable())
    response = HttpResponse(ServiceUnavailable.message, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(ServiceUnavailable.retry_after)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: what an exception outside any view's own handling becomes, never a traceback.

    A database error raised by middleware (a session read while PostgreSQL is down) is
    a 503 like one raised in a view; anything else is a 500, JSON under ``/api/``.
    """
    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_ERRORS):
        database_health.mark_down(exc)
        return unavailable(request)
    if is_api(request):
        return error_response(request, 500, "server_error", "Internal server error.")
    return defaults.server_error(request)
