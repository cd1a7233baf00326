"""Settings → API Keys pages (placeholder until the settings-page issue)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse


@login_required
def key_list(request: HttpRequest) -> HttpResponse:
    return HttpResponse("API keys")


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Audit log")
