"""Admin pages of what Parley writes itself (logs, deliveries, chats): looked at, never edited there."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyAdmin(admin.ModelAdmin):
    """No add, no change. ``superusers_delete``: superusers may delete (a chat, a visitor); else nobody."""

    superusers_delete = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.superusers_delete and bool(getattr(request.user, "is_superuser", False))
