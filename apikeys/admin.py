"""Support staff's view of API keys (SPEC §8): find, inspect, revoke; never create or see digests.

A full key is found through a POST form that never echoes it (the site refuses keys in URLs).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from accounts.actors import Actor
from accounts.permissions import Action, staff_may
from apikeys import keys
from apikeys.models import ApiKey, ApiKeyDailyUsage, ApiRequestLog, IdempotencyRecord, KeyNetwork
from apikeys.services import api_key_revoke
from core.admin_base import ReadOnlyAdmin
from core.logging import redact

NOT_A_KEY = "That is not a Parley key: check that you pasted all of it."
NO_MATCH = "No key matches. It may belong to another Parley installation."


class FindKeyForm(forms.Form):
    """One field; a password input never renders its value back, not even with an error."""

    key = forms.CharField(
        label="Full key",
        max_length=200,
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "off", "spellcheck": "false", "autofocus": True}
        ),
    )

    def clean_key(self) -> str:
        plain = self.cleaned_data["key"]
        if keys.kind_of(plain) is None:
            raise forms.ValidationError(NOT_A_KEY)
        return plain


class RevokeForm(forms.Form):
    """The reason goes into the audit log, so a key pasted into it is redacted before anything sees it."""

    reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Optional; kept in the audit log, e.g. “leaked in a public repository”.",
    )

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        if data is not None:
            data = data.copy()
            data["reason"] = redact(data.get("reason", ""))
        super().__init__(data, **kwargs)


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "Active"), ("revoked", "Revoked"), ("expired", "Expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> QuerySet[ApiKey]:
        from django.utils import timezone

        now = timezone.now()
        if self.value() == "active":
            return queryset.usable()  # type: ignore[attr-defined]  # ApiKeyQuerySet
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Search takes a name, hint, workspace, creator or owner email; full keys go to the find form."""

    list_display = ["name", "hint", "workspace", "status_label", "last_used_at"]
    list_filter = ["kind", StatusFilter]
    search_fields = ["name", "hint", "workspace__name", "workspace__slug", "created_by__email"]
    search_help_text = (
        "Name, hint, workspace or creator email. Never paste a full key here: use “Find a leaked key…” above."
    )
    actions = ["revoke_selected"]
    readonly_fields = [
        "workspace",
        "kind",
        "name",
        "hint",
        "scopes",
        "allowed_ips",
        "allowed_origins",
        "expires_at",
        "rate_limit",
        "created_by",
        "created_at",
        "revoked_at",
        "revoked_by",
        "rolled_from",
        "last_used_at",
        "last_used_ip",
    ]
    exclude = ["digest", "cache_version"]

    @admin.display(description="Status")
    def status_label(self, obj: ApiKey) -> str:
        return obj.status

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ApiKey], search_term: str
    ) -> tuple[QuerySet[ApiKey], bool]:
        term = search_term.strip()
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if term and "@" in term:  # also the keys of workspaces this person owns
            owned = queryset.filter(
                workspace__memberships__role="owner", workspace__memberships__user__email__iexact=term
            )
            return (results | owned).distinct(), True
        return results, may_have_duplicates

    def get_urls(self) -> list[URLPattern]:
        find = path("find/", self.admin_site.admin_view(self.find_view), name="apikeys_apikey_find")
        return [find, *super().get_urls()]  # ahead of "<object_id>/", which would swallow "find/"

    @method_decorator(sensitive_post_parameters("key"))
    def find_view(self, request: HttpRequest) -> HttpResponse:
        """Find a leaked key by its digest; the answer is its change page, whose URL carries only the pk."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = FindKeyForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            found = ApiKey.objects.filter(digest=keys.digest(form.cleaned_data["key"])).first()
            if found is not None:
                return HttpResponseRedirect(
                    reverse("admin:apikeys_apikey_change", args=[found.pk], current_app=self.admin_site.name)
                )
            form.add_error("key", NO_MATCH)
        context = {
            **self.admin_site.each_context(request),
            "title": "Find a leaked key",
            "opts": self.opts,
            "form": form,
        }
        return TemplateResponse(request, "admin/apikeys/apikey/find.html", context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are created by workspace owners and admins, in the app

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not staff_may(request.user, Action.REVOKE_API_KEYS):
            actions.pop("revoke_selected", None)
        return actions

    @admin.action(description="Revoke selected keys")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> HttpResponse | None:
        """Like delete_selected: a confirmation page with a reason first, then revoke (``post=yes``)."""
        selected = list(queryset.select_related("workspace").order_by("name", "pk"))
        revocable = [key for key in selected if not key.is_revoked]
        skipped = len(selected) - len(revocable)
        if not revocable:
            self.message_user(request, f"Skipped {skipped} already revoked key(s): nothing to revoke.", messages.INFO)
            return None
        form = RevokeForm(request.POST if request.POST.get("post") == "yes" else None)
        if form.is_valid():
            for key in revocable:
                api_key_revoke(
                    key=key,
                    actor=Actor.for_request(request),
                    via="admin",
                    reason=form.cleaned_data["reason"].strip(),
                )
            self.message_user(request, f"Revoked {len(revocable)} key(s).", messages.SUCCESS)
            if skipped:
                self.message_user(request, f"Skipped {skipped} already revoked key(s).", messages.INFO)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Revoke API keys",
            "opts": self.opts,
            "keys": revocable,
            "selected": selected,
            "skipped": skipped,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "cancel_url": request.get_full_path(),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/apikeys/apikey/revoke_selected_confirmation.html", context)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    """Stored answers of ``Idempotency-Key`` requests, read only; the answer itself is never shown."""

    list_display = ["key", "api_key", "status_code", "created_at"]
    search_fields = ["key", "api_key__hint", "api_key__name"]
    list_select_related = ["api_key"]
    readonly_fields = ["key", "api_key", "status_code", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class StatusClassFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status_class"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("2", "2xx"), ("3", "3xx"), ("4", "4xx"), ("5", "5xx")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ApiRequestLog]) -> QuerySet[ApiRequestLog]:
        value = self.value()
        if value in {"2", "3", "4", "5"}:
            low = int(value) * 100
            return queryset.filter(status__gte=low, status__lt=low + 100)
        return queryset


@admin.register(ApiRequestLog)
class ApiRequestLogAdmin(ReadOnlyAdmin):
    """Every ``/api/v1/`` request made with a key (``API_LOG_RETENTION_DAYS``); paths keep parameter names only."""

    list_display = ["created_at", "key_hint", "method", "path", "status", "error_code", "ip", "duration_ms"]
    list_filter = [StatusClassFilter, "method"]
    search_fields = ["api_key__hint", "ip", "request_id"]
    search_help_text = "Key hint (wsk_live_AbCd…wxyz), client IP or request id."
    list_select_related = ["api_key"]
    show_full_result_count = False  # no second COUNT(*) over the whole log
    readonly_fields = [
        "created_at",
        "api_key",
        "method",
        "path",
        "status",
        "error_code",
        "ip",
        "user_agent",
        "duration_ms",
        "request_id",
        "entry_id",
    ]

    @admin.display(description="Key", ordering="api_key__hint")
    def key_hint(self, obj: ApiRequestLog) -> str:
        return obj.api_key.hint


@admin.register(ApiKeyDailyUsage)
class ApiKeyDailyUsageAdmin(ReadOnlyAdmin):
    list_display = ["day", "api_key", "successes", "errors"]
    search_fields = ["api_key__hint", "api_key__name"]
    list_select_related = ["api_key"]
    readonly_fields = ["api_key", "day", "successes", "errors"]


@admin.register(KeyNetwork)
class KeyNetworkAdmin(ReadOnlyAdmin):
    list_display = ["network", "api_key", "first_seen", "last_seen", "requests", "alert_pending", "alerted_at"]
    search_fields = ["api_key__hint", "network"]
    list_select_related = ["api_key"]
    readonly_fields = ["api_key", "network", "first_seen", "last_seen", "requests", "alert_pending", "alerted_at"]
