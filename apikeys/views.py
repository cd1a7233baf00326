"""Settings → API Keys (SPEC §6): server-rendered, owners and admins only.

Views parse input, call one function of ``apikeys.services`` and render; a
``ServiceError`` it raises is shown by ``accounts.pages.WorkspacePageMixin``. A new key
is rendered straight into the answer to the POST that made it (``no-store``), never
put in the session, a message or a URL, so nothing can show it a second time. A
one-time form token makes a resubmitted form (reload, back button) land on the
list instead of making another key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil
from django.views.generic import DetailView, FormView, TemplateView

from accounts.form_tokens import form_token_valid, posted_or_new_token, spend_form_token
from accounts.pages import WorkspacePageMixin
from accounts.permissions import Action, plan_allows_scopes
from apikeys.charts import Sparkline
from apikeys.forms import PRESET_LABELS, ApiKeyForm, RollForm, preset_initial
from apikeys.models import ApiKey
from apikeys.reminders import expiring_in_days, unused_days
from apikeys.scopes import PRESETS, is_write
from apikeys.selectors import api_key_audit_events, api_key_list, api_key_live_successor
from apikeys.services import api_key_create, api_key_revoke, api_key_roll
from apikeys.usage_views import key_sparklines, key_usage_context
from core.errors import PlanUpgradeRequired

KEY_EVENTS_SHOWN = 100


class KeyPageMixin(WorkspacePageMixin):
    """Settings → API Keys pages: owners and admins of the current workspace."""

    action = Action.MANAGE_API_KEYS

    def get_key(self) -> ApiKey:
        """The key of the URL, of the current workspace only: any other id is a 404."""
        if not hasattr(self, "_key"):
            pk = self.kwargs["pk"]  # type: ignore[attr-defined]  # set by View.setup
            self._key = get_object_or_404(api_key_list(self.workspace), pk=pk)
        return self._key


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
    sparkline: Sparkline | None = None  # its last 7 days, on the list's active rows

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
        """Each scope, and whether the workspace's plan still lets it work ("needs Pro")."""
        plan = self.key.workspace.plan
        return [
            {"scope": scope, "write": is_write(scope), "needs_upgrade": not plan_allows_scopes(plan, [scope])}
            for scope in self.key.scopes
        ]

    @property
    def needs_upgrade(self) -> bool:
        return any(chip["needs_upgrade"] for chip in self.scope_chips)

    @property
    def expiring_in_days(self) -> int | None:
        """Days until it expires, when that is within 7 (the list flags it)."""
        return expiring_in_days(self.key, self.now)

    @property
    def unused_days(self) -> int | None:
        """Days it has not been used, once that is 90 or more (the list flags it, with Revoke…)."""
        return unused_days(self.key, self.now)

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


class KeyListView(KeyPageMixin, TemplateView):
    """Active keys (with Roll… and Revoke… on each row), then revoked and expired ones."""

    template_name = "apikeys/key_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        keys = api_key_list(self.workspace).select_related("workspace")
        now = timezone.now()
        active = list(keys.usable())  # type: ignore[attr-defined]  # ApiKeyQuerySet
        spark = key_sparklines(keys=active, now=now)
        return super().get_context_data(
            workspace=self.workspace,
            active_rows=[KeyRow(key=key, now=now, sparkline=spark[key.pk]) for key in active],
            retired_rows=key_rows(keys.retired()),  # type: ignore[attr-defined]  # ApiKeyQuerySet
            upgrade_hint=PlanUpgradeRequired.hint,
            **kwargs,
        )


class KeyCreateView(KeyPageMixin, FormView):
    """The create form; its presets work without JavaScript (``name="preset"`` buttons)."""

    template_name = "apikeys/key_form.html"
    form_class = ApiKeyForm

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "plan": self.workspace.plan}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("form_token", posted_or_new_token(self.request))
        return super().get_context_data(workspace=self.workspace, write_scopes_note=PlanUpgradeRequired.hint, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        preset = request.POST.get("preset", "")
        if preset in PRESETS:
            blank = ApiKeyForm(plan=self.workspace.plan)
            form = ApiKeyForm(initial=preset_initial(request.POST, blank, preset), plan=self.workspace.plan)
            return self.render_to_response(self.get_context_data(form=form, preset_applied=PRESET_LABELS[preset]))
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: ApiKeyForm) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def form_valid(self, form: ApiKeyForm) -> HttpResponse:
        token = self.request.POST.get("form_token", "")
        if not form_token_valid(self.request, token):
            messages.info(self.request, "That form was already submitted. For your security a key is shown only once.")
            return redirect("apikeys:list")
        key, plain = api_key_create(workspace=self.workspace, actor=self.actor, **form.key_input())
        spend_form_token(self.request, token)
        return shown_once(self.request, key=key, plain=plain, status=201)


class KeyDetailView(KeyPageMixin, DetailView):
    """One key: its settings, lineage, usage (requests, 30-day chart, networks) and audit events."""

    template_name = "apikeys/key_detail.html"
    context_object_name = "key"

    def get_object(self, queryset: QuerySet[ApiKey] | None = None) -> ApiKey:
        return self.get_key()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        key: ApiKey = self.object
        now = timezone.now()
        return super().get_context_data(
            workspace=self.workspace,
            row=KeyRow(key=key, now=now),
            rolled_to=list(api_key_list(self.workspace).filter(rolled_from=key)),
            events=list(api_key_audit_events(key)[:KEY_EVENTS_SHOWN]),
            upgrade_hint=PlanUpgradeRequired.hint,
            **key_usage_context(key=key, status=self.request.GET.get("status"), now=now),
            **kwargs,
        )


class KeyRollView(KeyPageMixin, FormView):
    """Confirm, then issue a new key with the same settings; the old one expires after a grace.

    A key rolled once already is not rolled again: the page links to its successor.
    """

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
        return super().get_context_data(
            workspace=self.workspace,
            key=key,
            row=KeyRow(key, timezone.now()),
            successor=api_key_live_successor(key),
            **kwargs,
        )

    def form_invalid(self, form: RollForm) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def form_valid(self, form: RollForm) -> HttpResponse:
        key = self.get_key()
        token = self.request.POST.get("form_token", "")
        if not form_token_valid(self.request, token):
            messages.info(self.request, "That key was already rolled. For your security a key is shown only once.")
            return redirect("apikeys:detail", pk=key.pk)
        new_key, plain = api_key_roll(key=key, actor=self.actor, grace=form.grace_period())
        spend_form_token(self.request, token)
        key.refresh_from_db()
        return shown_once(self.request, key=new_key, plain=plain, status=201, rolled_from=key)


class KeyRevokeView(KeyPageMixin, TemplateView):
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
        key = api_key_revoke(key=key, actor=self.actor)
        if was_revoked:
            messages.info(request, f"“{key.name}” ({key.hint}) was already revoked.")
        else:
            messages.success(request, f"“{key.name}” ({key.hint}) is revoked. Requests made with it are now refused.")
        return redirect("apikeys:list")
