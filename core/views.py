"""JSON answers for CSRF and rate-limit refusals under ``/api/``, and the health endpoint.

404s, 405s and 500s under ``/api/`` are answered by ``core.middleware.ApiJsonErrorsMiddleware``.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from core.errors import CsrfFailed, RateLimited, service_error_response
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


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: answers while the process serves, touching nothing else."""
    return JsonResponse({"status": "ok"})
