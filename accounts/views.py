"""Pages: the home dashboard and the workspace switcher."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.selectors import SESSION_WORKSPACE_KEY, current_membership, user_memberships


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
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)
