"""``POST /api/secret-scanning/github``: GitHub's secret-scanning partner endpoint (SPEC §11).

GitHub, not a browser or an API client, calls it: no session, no CSRF token, no API
key. Checked in this order, and refused with nothing changed:

1. the caller's IP is within ``SECRET_SCANNING_RATE_LIMIT`` (429 ``rate_limited``; every
   request counts, signed or not);
2. the body is signed by one of GitHub's keys (403 ``invalid_signature``; 503 when
   GitHub's key list cannot be fetched at all);
3. the body is GitHub's list of ``{"token", "type", "url", "source"}`` (400 ``invalid_request``).

Then each reported string is handled by ``apikeys.leaks.api_key_leak_report`` and the
answer is GitHub's: one ``{"token_raw", "token_type", "label"}`` per entry, in order.
"""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django_ratelimit.core import get_usage

from accounts.actors import Actor
from apikeys.leaks import api_key_leak_report
from apikeys.secret_scanning import KEY_ID_HEADER, SIGNATURE_HEADER, parse_report, verify_github_signature
from core.errors import RateLimited, ServiceError, service_error_response
from core.net import client_ip

GITHUB = "GitHub secret scanning"
VIA = "github_secret_scanning"


def _count(request: HttpRequest) -> None:
    usage = get_usage(
        request,
        group="secret-scanning.github",
        key=lambda group, req: client_ip(req),
        rate=settings.SECRET_SCANNING_RATE_LIMIT,
        increment=True,
    )
    if usage is not None and usage["should_limit"]:
        raise RateLimited(retry_after=usage["time_left"])


def _base_url(request: HttpRequest) -> str:
    return settings.PUBLIC_BASE_URL or request.build_absolute_uri("/").rstrip("/")


@method_decorator(csrf_exempt, name="dispatch")
class GitHubSecretScanningApi(View):
    """POST only; answers GitHub's JSON, or the error envelope."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            _count(request)
            body = request.body  # the raw bytes GitHub signed, before any parsing
            verify_github_signature(
                body=body,
                key_id=request.headers.get(KEY_ID_HEADER, ""),
                signature=request.headers.get(SIGNATURE_HEADER, ""),
            )
            reported = parse_report(body)
        except ServiceError as exc:
            return service_error_response(request, exc)
        actor = replace(Actor.system(GITHUB), ip=client_ip(request))  # the audit log keeps GitHub's address
        answer = []
        for entry in reported:
            outcome = api_key_leak_report(
                token=entry.token,
                url=entry.url,
                source=entry.source,
                reporter=GITHUB,
                actor=actor,
                via=VIA,
                base_url=_base_url(request),
            )
            answer.append({"token_raw": entry.token, "token_type": entry.type, "label": outcome.label})
        response = JsonResponse(answer, safe=False)
        response["Cache-Control"] = "no-store"  # it echoes the keys GitHub found
        return response
