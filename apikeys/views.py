"""Settings → API Keys and the audit log (SPEC §6): server-rendered, owners and admins only.

Views parse input, call one function of ``apikeys.services`` and render. A new key
is rendered straight into the answer to the POST that made it (``no-store``), never
put in the session, a message or a URL, so nothing can show it a second time. A
one-time form token makes a resubmitted form (reload, back button) land on the
list instead of making another key.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil
from django.views.generic import DetailView, FormView, ListView, TemplateView

from accounts.models import AuditEvent, Membership, User, Workspace
from accounts.permissions import API_KEY_MANAGERS_TEXT, Action, role_allows
from accounts.selectors import current_membership, workspace_audit_events, workspace_managers
from apikeys.forms import (
    PRESET_LABELS,
    WRITE_SCOPES_UPGRADE_TEXT,
    ApiKeyForm,
    RollForm,
    preset_initial,
)
from apikeys.models import ApiKey
from apikeys.scopes import PRESETS, is_write
from apikeys.selectors import key_audit_events, workspace_keys
from apikeys.services import (
    KeyInputError,
    KeyPermissionError,
    PlanUpgradeRequiredError,
    create_key,
    revoke_key,
    roll_key,
)
from core.net import client_ip

AUDIT_LOG_DENIED_TEXT = "Only workspace owners and admins can view the audit log."
PLAN_UPGRADE_TEXT = (
    "Write scopes need the Pro plan or higher. Upgrade this workspace to Pro to create keys that can write, "
    "or choose read scopes only."
)
AUDIT_LOG_PAGE_SIZE = 50
KEY_EVENTS_SHOWN = 100
FORM_TOKENS_SESSION_KEY = "apikeys_form_tokens"
MAX_FORM_TOKENS = 20


# --- access


def forbidden(request: HttpRequest, membership: Membership | None, text: str) -> HttpResponse:
    """The friendly 403 page: what is refused and who can do it."""
    workspace = membership.workspace if membership else None
    context = {
        "denied_text": text,
        "denied_workspace": workspace,
        "managers": workspace_managers(workspace) if workspace else [],
    }
    return render(request, "403.html", context, status=403)


class WorkspaceManagerMixin(LoginRequiredMixin):
    """Logged-in owners and admins of the current workspace; others get the 403 page."""

    action = Action.MANAGE_API_KEYS
    denied_text = API_KEY_MANAGERS_TEXT
    membership: Membership
    workspace: Workspace
    request: HttpRequest

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        membership = current_membership(request)
        if membership is None or not role_allows(membership.role, self.action):
            return forbidden(request, membership, self.denied_text)
        self.membership, self.workspace = membership, membership.workspace
        return super().dispatch(request, *args, **kwargs)

    @property
    def actor(self) -> User:
        return self.request.user  # type: ignore[return-value]  # authenticated in dispatch

    def get_key(self) -> ApiKey:
        """The key of the URL, of the current workspace only: any other id is a 404."""
        if not hasattr(self, "_key"):
            pk = self.kwargs["pk"]  # type: ignore[attr-defined]  # set by View.setup
            self._key = get_object_or_404(workspace_keys(self.workspace), pk=pk)
        return self._key


# --- one-time form tokens (a resubmitted form must not make a second key)


def issue_form_token(request: HttpRequest) -> str:
    token = secrets.token_urlsafe(16)
    tokens = request.session.get(FORM_TOKENS_SESSION_KEY, [])[-(MAX_FORM_TOKENS - 1) :]
    request.session[FORM_TOKENS_SESSION_KEY] = [*tokens, token]
    return token


def form_token_valid(request: HttpRequest, token: str) -> bool:
    return bool(token) and token in request.session.get(FORM_TOKENS_SESSION_KEY, [])


def spend_form_token(request: HttpRequest, token: str) -> None:
    tokens = request.session.get(FORM_TOKENS_SESSION_KEY, [])
    request.session[FORM_TOKENS_SESSION_KEY] = [t for t in tokens if t != token]


def posted_or_new_token(request: HttpRequest) -> str:
    token = request.POST.get("form_token", "")
    return token if form_token_valid(request, token) else issue_form_token(request)


# --- presentation


def relative_time(when: datetime, now: datetime) -> str:
    """``"just now"``, ``"3 days ago"``, ``"in 2 weeks"``."""
    if abs(when - now) < timedelta(minutes=1):
        return "just now"
    if when < now:
        return f"{timesince(when, now, depth=1)} ago"
    return f"in {timeuntil(when, now, depth=1)}"


@dataclass(frozen=True)
class KeyRow:
    """A key with the relative times its row shows, worked out once."""

    key: ApiKey
    now: datetime

    def _relative(self, when: datetime | None) -> str:
        return relative_time(when, self.now) if when else ""

    @property
    def created(self) -> str:
        return self._relative(self.key.created_at)

    @property
    def last_used(self) -> str:
        return self._relative(self.key.last_used_at)

    @property
    def expires(self) -> str:
        return self._relative(self.key.expires_at)

    @property
    def revoked(self) -> str:
        return self._relative(self.key.revoked_at)

    @property
    def scope_chips(self) -> list[dict[str, Any]]:
        return [{"scope": scope, "write": is_write(scope)} for scope in self.key.scopes]

    @property
    def has_network_restrictions(self) -> bool:
        return bool(self.key.allowed_ips or self.key.allowed_origins)


def key_rows(keys: QuerySet[ApiKey] | list[ApiKey]) -> list[KeyRow]:
    now = timezone.now()
    return [KeyRow(key=key, now=now) for key in keys]


def shown_once(
    request: HttpRequest,
    *,
    key: ApiKey,
    plain: str,
    status: int,
    rolled_from: ApiKey | None = None,
) -> HttpResponse:
    """The one page that ever shows a plain key: rendered into this answer only."""
    context = {
        "workspace": key.workspace,
        "row": KeyRow(key=key, now=timezone.now()),
        "plain_key": plain,
        "rolled_from": rolled_from,
    }
    if rolled_from is not None:
        context["old_row"] = KeyRow(key=rolled_from, now=timezone.now())
    response = render(request, "apikeys/key_created.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response


# --- pages


class KeyListView(WorkspaceManagerMixin, TemplateView):
    """Active keys, then revoked and expired ones."""

    template_name = "apikeys/key_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        keys = workspace_keys(self.workspace)
        return super().get_context_data(
            workspace=self.workspace,
            active_rows=key_rows(keys.usable()),  # type: ignore[attr-defined]  # ApiKeyQuerySet
            retired_rows=key_rows(keys.retired()),  # type: ignore[attr-defined]  # ApiKeyQuerySet
            **kwargs,
        )


class KeyCreateView(WorkspaceManagerMixin, FormView):
    """The create form; its presets work without JavaScript (``name="preset"`` buttons)."""

    template_name = "apikeys/key_form.html"
    form_class = ApiKeyForm

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "plan": self.workspace.plan}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("form_token", posted_or_new_token(self.request))
        return super().get_context_data(
            workspace=self.workspace,
            write_scopes_note=WRITE_SCOPES_UPGRADE_TEXT,
            **kwargs,
        )

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        preset = request.POST.get("preset", "")
        if preset in PRESETS:
            blank = ApiKeyForm(plan=self.workspace.plan)
            form = ApiKeyForm(initial=preset_initial(request.POST, blank, preset), plan=self.workspace.plan)
            return self.render_to_response(self.get_context_data(form=form, preset_applied=PRESET_LABELS[preset]))
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: ApiKeyForm, status: int = 400, **extra: Any) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form, **extra), status=status)

    def form_valid(self, form: ApiKeyForm) -> HttpResponse:
        token = self.request.POST.get("form_token", "")
        if not form_token_valid(self.request, token):
            messages.info(self.request, "That form was already submitted. For your security a key is shown only once.")
            return redirect("apikeys:list")
        try:
            key, plain = create_key(
                workspace=self.workspace, actor=self.actor, ip=client_ip(self.request), **form.key_input()
            )
        except KeyInputError as exc:
            form.add_service_errors(exc.fields)
            return self.form_invalid(form)
        except PlanUpgradeRequiredError:
            return self.form_invalid(form, status=403, plan_upgrade_text=PLAN_UPGRADE_TEXT)
        except KeyPermissionError:
            return forbidden(self.request, self.membership, API_KEY_MANAGERS_TEXT)
        spend_form_token(self.request, token)
        return shown_once(self.request, key=key, plain=plain, status=201)


class KeyDetailView(WorkspaceManagerMixin, DetailView):
    """One key: its settings, lineage and audit events."""

    template_name = "apikeys/key_detail.html"
    context_object_name = "key"

    def get_object(self, queryset: QuerySet[ApiKey] | None = None) -> ApiKey:
        return self.get_key()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        key: ApiKey = self.object
        return super().get_context_data(
            workspace=self.workspace,
            row=KeyRow(key=key, now=timezone.now()),
            rolled_to=list(workspace_keys(self.workspace).filter(rolled_from=key)),
            events=list(key_audit_events(key)[:KEY_EVENTS_SHOWN]),
            **kwargs,
        )


class KeyRollView(WorkspaceManagerMixin, FormView):
    """Confirm, then issue a new key with the same settings; the old one expires after a grace."""

    template_name = "apikeys/key_roll.html"
    form_class = RollForm

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = self.get_key()
        if not key.is_active:
            messages.error(request, "Only an active key can be rolled.")
            return redirect("apikeys:detail", pk=key.pk)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("form_token", posted_or_new_token(self.request))
        key = self.get_key()
        return super().get_context_data(workspace=self.workspace, key=key, row=KeyRow(key, timezone.now()), **kwargs)

    def form_invalid(self, form: RollForm, status: int = 400, **extra: Any) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form, **extra), status=status)

    def form_valid(self, form: RollForm) -> HttpResponse:
        key = self.get_key()
        token = self.request.POST.get("form_token", "")
        if not form_token_valid(self.request, token):
            messages.info(self.request, "That key was already rolled. For your security a key is shown only once.")
            return redirect("apikeys:detail", pk=key.pk)
        try:
            new_key, plain = roll_key(key=key, actor=self.actor, grace=form.grace_period(), ip=client_ip(self.request))
        except KeyInputError as exc:
            messages.error(self.request, " ".join(m for ms in exc.fields.values() for m in ms))
            return redirect("apikeys:detail", pk=key.pk)
        except PlanUpgradeRequiredError:
            return self.form_invalid(form, status=403, plan_upgrade_text=PLAN_UPGRADE_TEXT)
        except KeyPermissionError:
            return forbidden(self.request, self.membership, API_KEY_MANAGERS_TEXT)
        spend_form_token(self.request, token)
        key.refresh_from_db()
        return shown_once(self.request, key=new_key, plain=plain, status=201, rolled_from=key)


class KeyRevokeView(WorkspaceManagerMixin, TemplateView):
    """Confirm, then revoke: the key fails from the very next request."""

    template_name = "apikeys/key_revoke.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = self.get_key()
        if key.is_revoked:
            messages.info(request, "This key is already revoked.")
            return redirect("apikeys:detail", pk=key.pk)
        return self.render_to_response(
            self.get_context_data(workspace=self.workspace, key=key, row=KeyRow(key, timezone.now()))
        )

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = self.get_key()
        was_revoked = key.is_revoked
        try:
            key = revoke_key(key=key, actor=self.actor, ip=client_ip(request))
        except KeyPermissionError:
            return forbidden(request, self.membership, API_KEY_MANAGERS_TEXT)
        if was_revoked:
            messages.info(request, f"“{key.name}” ({key.hint}) was already revoked.")
        else:
            messages.success(request, f"“{key.name}” ({key.hint}) is revoked. Requests made with it are now refused.")
        return redirect("apikeys:list")


class AuditLogView(WorkspaceManagerMixin, ListView):
    """The workspace's audit events, newest first."""

    action = Action.VIEW_AUDIT_LOG
    denied_text = AUDIT_LOG_DENIED_TEXT
    template_name = "apikeys/audit_log.html"
    context_object_name = "events"
    paginate_by = AUDIT_LOG_PAGE_SIZE

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return workspace_audit_events(self.workspace)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(workspace=self.workspace, **kwargs)
