"""Support staff's view of API keys (SPEC §8): find, inspect, revoke; never create or see digests."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.actors import Actor
from accounts.permissions import Action, staff_may
from apikeys import keys
from apikeys.models import ApiKey
from apikeys.services import api_key_revoke


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
    """Search takes a name, hint, workspace, creator or owner email — or a full leaked key (found by digest)."""

    list_display = ["name", "hint", "kind", "workspace", "status_label", "created_by", "created_at", "last_used_at"]
    list_filter = ["kind", StatusFilter]
    search_fields = ["name", "hint", "workspace__name", "workspace__slug", "created_by__email"]
    search_help_text = "Name, hint, workspace or creator email — or paste a full key to find it by digest."
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
        if keys.kind_of(term):
            return queryset.filter(digest=keys.digest(term)), False
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if term and "@" in term:  # also the keys of workspaces this person owns
            owned = queryset.filter(
                workspace__memberships__role="owner", workspace__memberships__user__email__iexact=term
            )
            return (results | owned).distinct(), True
        return results, may_have_duplicates

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
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = 0
        for key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(key=key, actor=Actor.for_request(request), via="admin")
            count += 1
        self.message_user(request, f"Revoked {count} key(s).", messages.SUCCESS)
