"""Pages: the home dashboard, the workspace switcher, the audit log, and the two SSO steps."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django.views.generic import ListView, TemplateView
from django_ratelimit.core import get_usage
from django_ratelimit.exceptions import Ratelimited
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts.models import PAID_PLANS, AuditEvent
from accounts.oidc import sso_enabled
from accounts.pages import WorkspacePageMixin
from accounts.permissions import Action
from accounts.selectors import SESSION_WORKSPACE_KEY, current_membership, user_memberships, workspace_audit_events
from core.net import client_ip

AUDIT_LOG_PAGE_SIZE = 50


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("account_login")
    return render(request, "accounts/home.html", {"membership": current_membership(request)})


@login_required
@require_POST
def workspace_switch(request: HttpRequest) -> HttpResponse:
    try:
        workspace_id = int(request.POST.get("workspace", ""))
    except ValueError as exc:
        raise Http404 from exc
    membership = user_memberships(request.user).filter(workspace_id=workspace_id).first()  # type: ignore[arg-type]  # login_required
    if membership is None:
        raise Http404
    request.session[SESSION_WORKSPACE_KEY] = membership.workspace_id
    target = request.POST.get("next", "/")
    # A path of this site only. Not redirect(): it reads "name" as a URL pattern name (a 500 when none).
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return HttpResponseRedirect(target)


class AuditLogView(WorkspacePageMixin, ListView):
    """The workspace's audit events, newest first (owners and admins)."""

    action = Action.VIEW_AUDIT_LOG
    template_name = "accounts/audit_log.html"
    context_object_name = "events"
    paginate_by = AUDIT_LOG_PAGE_SIZE

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return workspace_audit_events(self.workspace)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(workspace=self.workspace, **kwargs)


class PlanView(WorkspacePageMixin, TemplateView):
    """The workspace's plan, what a paid plan adds, and how to upgrade (owners; SPEC §1 billing)."""

    action = Action.VIEW_BILLING
    template_name = "accounts/plan.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(
            workspace=self.workspace,
            is_paid=self.workspace.plan in PAID_PLANS,
            support_email=settings.SUPPORT_EMAIL,
            **kwargs,
        )


def _sso_step_allowed(request: HttpRequest, step: str) -> None:
    """Both SSO steps: a 404 while SSO is not configured, a 429 past ``SSO_RATE_LIMIT`` per client IP.

    Each start writes a session row (the state and nonce), and each callback calls the
    provider: neither is something an anonymous client may do without bound.
    """
    if not sso_enabled():
        raise Http404("Single sign-on is not configured.")
    usage = get_usage(
        request,
        group=f"accounts.sso-{step}",
        key=lambda group, req: client_ip(req),
        rate=settings.SSO_RATE_LIMIT,
        increment=True,
    )
    if usage is not None and usage["should_limit"]:
        raise Ratelimited


class SsoAuthenticateView(OIDCAuthenticationRequestView):
    """``/oidc/authenticate/``: sends the browser to the provider (``OIDC_AUTHENTICATE_CLASS``)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        _sso_step_allowed(request, "start")
        return super().get(request)


class SsoCallbackView(OIDCAuthenticationCallbackView):
    """``/oidc/callback/``: where the provider sends the browser back (``OIDC_CALLBACK_CLASS``)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        _sso_step_allowed(request, "callback")
        return super().get(request)
