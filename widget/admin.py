"""Support staff's view of the widget (SPEC §8): visitors, their sessions and feedback, read only.

Rows come from visitors through ``widget.services``; nobody adds or edits them here.
A session shows its hint, never its digest. Superusers may delete a session, which
ends it at once (its token answers 401 from the next request).
"""

from __future__ import annotations

from django.contrib import admin

from core.admin_base import ReadOnlyAdmin
from widget.models import Feedback, Visitor, VisitorSession


class _ReadOnly(ReadOnlyAdmin):
    superusers_delete = True


@admin.register(Visitor)
class VisitorAdmin(_ReadOnly):
    list_display = ["public_id", "external_id", "assistant", "created_at"]
    search_fields = ["public_id", "external_id", "assistant__name", "assistant__public_id"]
    readonly_fields = ["public_id", "assistant", "external_id", "created_at"]


@admin.register(VisitorSession)
class VisitorSessionAdmin(_ReadOnly):
    list_display = ["hint", "assistant", "visitor", "created_at", "last_seen_at", "absolute_expires_at"]
    search_fields = ["hint", "visitor__public_id", "assistant__name"]
    list_select_related = ["assistant", "visitor"]
    readonly_fields = [
        "hint",
        "assistant",
        "visitor",
        "conversation",
        "api_key",
        "created_at",
        "last_seen_at",
        "absolute_expires_at",
    ]


@admin.register(Feedback)
class FeedbackAdmin(_ReadOnly):
    list_display = ["public_id", "rating", "conversation", "created_at"]
    list_filter = ["rating"]
    search_fields = ["public_id", "conversation__public_id", "comment"]
    readonly_fields = ["public_id", "rating", "comment", "conversation", "message", "visitor", "created_at"]
