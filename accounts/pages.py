"""What every workspace settings page shares: who may open it, and how refusals look.

``WorkspacePageMixin`` lets in the signed-in members of the current workspace whose
role allows the view's ``action`` (others get the 403 page naming the owners and
admins), and maps a ``ServiceError`` raised by the service a view calls, in one
place: ``Forbidden`` → the 403 page; with a bound form → the form again, with the
errors on their fields and the message and hint above it, at the error's status;
otherwise → the message, and back to the page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render

from accounts.actors import Actor
from accounts.models import Membership, Workspace
from accounts.permissions import DENIED_TEXT, Action, role_allows
from accounts.selectors import current_membership, workspace_managers
from core.errors import Forbidden, InvalidInput, ServiceError


def forbidden(request: HttpRequest, membership: Membership | None, text: str) -> HttpResponse:
    """The friendly 403 page: what is refused and who can do it."""
    workspace = membership.workspace if membership else None
    context = {
        "denied_text": text,
        "denied_workspace": workspace,
        "managers": workspace_managers(workspace) if workspace else [],
    }
    return render(request, "403.html", context, status=403)


def add_service_errors(form: forms.BaseForm, fields: dict[str, list[str]]) -> None:
    """Put ``InvalidInput.fields`` next to the form fields of the same name (else on top)."""
    for name, field_messages in fields.items():
        target = name if name in form.fields else None
        for message in field_messages:
            form.add_error(target, message)


class WorkspacePageMixin(LoginRequiredMixin):
    """A page of the current workspace for the roles that ``action`` allows."""

    action: Action
    membership: Membership
    workspace: Workspace
    request: HttpRequest
    template_name: str
    bound_form: forms.BaseForm | None = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        membership = current_membership(request)
        if membership is None or not role_allows(membership.role, self.action):
            return forbidden(request, membership, DENIED_TEXT[self.action])
        self.membership, self.workspace = membership, membership.workspace
        try:
            return super().dispatch(request, *args, **kwargs)
        except ServiceError as exc:
            return self.service_error_response(exc)

    @property
    def actor(self) -> Actor:
        return Actor.for_request(self.request)

    def get_form(self, form_class: Any = None) -> forms.BaseForm:
        """Keeps the form, so a service error can be shown on it."""
        self.bound_form = super().get_form(form_class)  # type: ignore[misc]  # FormMixin follows in the MRO
        return self.bound_form

    def service_error_response(self, exc: ServiceError) -> HttpResponse:
        if isinstance(exc, Forbidden):
            return forbidden(self.request, self.membership, exc.message)
        form = self.bound_form
        if form is None or not form.is_bound:
            messages.error(self.request, f"{exc.message} {exc.hint}".strip())
            return redirect(self.request.get_full_path())
        if isinstance(exc, InvalidInput):
            getattr(form, "add_service_errors", lambda fields: add_service_errors(form, fields))(exc.fields)
        context = self.get_context_data(form=form, service_error=None if isinstance(exc, InvalidInput) else exc)  # type: ignore[attr-defined]  # a TemplateView follows
        return self.render_to_response(context, status=exc.status_code)  # type: ignore[attr-defined]  # see above
