"""JSON answers for CSRF and rate-limit refusals under ``/api/``, and the health endpoint.

404s, 405s and 500s under ``/api/`` are answered by ``core.middleware.ApiJsonErrorsMiddleware``.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from core.errors import error_response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if _is_api(request):
        return error_response(request, 403, "permission_denied", "CSRF check failed.")
    from django.views.csrf import csrf_failure as default

    return default(request, reason)


def ratelimited(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """django-ratelimit's ``RATELIMIT_VIEW``: a 429, JSON under ``/api/``."""
    if _is_api(request):
        response = error_response(request, 429, "rate_limited", "Too many requests. Retry later.")
    else:
        response = HttpResponse("Too many requests. Retry later.", status=429, content_type="text/plain")
    response["Retry-After"] = "60"
    return response


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: answers while the process serves, touching nothing else."""
    return JsonResponse({"status": "ok"})
