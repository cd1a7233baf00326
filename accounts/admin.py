"""Admin console for users, workspaces (plan/status editable) and the audit log."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest

from accounts.actors import Actor
from accounts.models import AuditEvent, Membership, SsoIdentity, User, Workspace
from accounts.selectors import plan_change_warnings
from accounts.services import workspace_update


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "name"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name",)}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "workspace"
    extra = 0
    fields = ["user", "invited_email", "role", "status", "invited_by", "created_at"]
    readonly_fields = ["created_at", "invited_by"]
    raw_id_fields = ["user"]


class WorkspaceAdminForm(forms.ModelForm):
    """A plan change that breaks something (keys losing write scopes) saves only once acknowledged.

    The box and the warnings are drawn by admin/accounts/workspace/change_form.html, only when there are any.
    """

    confirm_plan_change = forms.BooleanField(required=False, label="I understand: these keys lose their write scopes")
    plan_warnings: tuple[str, ...] = ()

    class Meta:
        model = Workspace
        fields = ["name", "slug", "plan", "status"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        plan = cleaned.get("plan")
        if self.instance.pk is not None and plan:  # the instance still holds the stored plan here
            self.plan_warnings = tuple(plan_change_warnings(workspace=self.instance, new_plan=plan))
        if self.plan_warnings and not cleaned.get("confirm_plan_change"):
            self.add_error("confirm_plan_change", "Tick the box to change the plan anyway.")
        return cleaned


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    form = WorkspaceAdminForm
    list_display = ["name", "plan", "status", "created_at"]
    list_filter = ["plan", "status"]
    search_fields = ["name", "slug", "memberships__user__email"]
    inlines = [MembershipInline]
    readonly_fields = ["created_at"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        # The acknowledgement box is not a fieldset row: the template draws it when needed.
        return [f for f in super().get_fields(request, obj) if f != "confirm_plan_change"]

    def save_model(self, request: HttpRequest, obj: Workspace, form: Any, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        # Plan and status go through the service: audited, and API keys hear of it.
        plan, status = obj.plan, obj.status
        stored = Workspace.objects.get(pk=obj.pk)
        obj.plan, obj.status = stored.plan, stored.status
        super().save_model(request, obj, form, change)
        workspace_update(workspace=obj, actor=Actor.for_request(request), plan=plan, status=status)


@admin.register(SsoIdentity)
class SsoIdentityAdmin(admin.ModelAdmin):
    list_display = ["user", "issuer", "subject", "created_at"]
    search_fields = ["user__email", "subject", "issuer"]
    readonly_fields = ["user", "issuer", "subject", "email", "created_at"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only."""

    list_display = ["created_at", "workspace", "actor_label", "action", "target_label", "ip"]
    list_filter = ["action"]
    search_fields = ["actor_label", "target_label", "workspace__name", "action"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
