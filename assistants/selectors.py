"""Reads on assistants and chats: by public id, for one requester, 404 for what they may not see."""

from __future__ import annotations

import operator
from datetime import datetime
from functools import reduce

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User, Workspace
from assistants import permissions
from assistants.models import Assistant, Conversation, FaqEntry, Message
from assistants.responders import FaqMatch, faq_matches, words
from core.crypto import decrypt
from core.errors import NotFound


def assistant_list(*, user: User, workspace: Workspace) -> QuerySet[Assistant]:
    return permissions.visible_assistants(user, workspace).select_related("created_by").prefetch_related("faq_entries")


def assistant_get(*, user: User, public_id: str) -> Assistant:
    """The assistant, in whichever of the user's workspaces it is; ``NotFound`` if they may not see it."""
    assistant = Assistant.objects.select_related("workspace", "created_by").filter(public_id=public_id).first()
    if assistant is None or not permissions.may_see(user, assistant):
        raise NotFound("No such assistant.", hint="Use an id from GET /api/assistants.")
    return assistant


def chat_list(*, user: User, workspace: Workspace) -> QuerySet[Conversation]:
    return permissions.visible_chats(user, workspace).select_related("assistant", "user")


def chat_get(*, user: User, public_id: str) -> Conversation:
    chat = Conversation.objects.select_related("assistant", "workspace", "user").filter(public_id=public_id).first()
    if chat is None or not permissions.may_read_chat(user, chat):
        raise NotFound("No such chat.", hint="Use an id from GET /api/chats.")
    return chat


def chat_messages(conversation: Conversation) -> QuerySet[Message]:
    return conversation.messages.all()


def conversation_list(
    *, workspace_id: int, assistant: str = "", channel: str = "", updated_since: datetime | None = None
) -> QuerySet[Conversation]:
    """The workspace's conversations (an API key acts for the whole workspace)."""
    conversations = Conversation.objects.filter(workspace_id=workspace_id).select_related("assistant", "contact")
    if assistant:
        conversations = conversations.filter(assistant__public_id=assistant)
    if channel:
        conversations = conversations.filter(channel=channel)
    if updated_since:
        conversations = conversations.filter(updated_at__gte=updated_since)
    return conversations


def workspace_assistant_get(*, workspace_id: int, public_id: str) -> Assistant:
    """An assistant of the workspace (an API key sees them all, whatever their visibility)."""
    assistant = Assistant.objects.filter(workspace_id=workspace_id, public_id=public_id).first()
    if assistant is None:
        raise NotFound("No such assistant.", hint="Use an id from GET /api/v1/assistants.")
    return assistant


def api_conversation_get(*, assistant: Assistant, public_id: str) -> Conversation:
    """A conversation that completions of ``assistant`` may continue: its own, on channel ``api``."""
    conversation = Conversation.objects.filter(
        assistant=assistant, public_id=public_id, channel=Conversation.Channel.API
    ).first()
    if conversation is None:
        raise NotFound(
            "No such conversation of this assistant.",
            hint="Use the conversation_id of an earlier completion of this assistant, or leave it out to start one.",
        )
    return conversation


def conversation_get(*, workspace_id: int, public_id: str) -> Conversation:
    conversation = (
        Conversation.objects.select_related("assistant", "contact")
        .filter(workspace_id=workspace_id, public_id=public_id)
        .first()
    )
    if conversation is None:
        raise NotFound("No such conversation.", hint="Use an id from GET /api/v1/conversations.")
    return conversation


def identity_secrets(assistant_pk: int) -> list[str]:
    """The identity secrets that verify this assistant's visitors now, current first (plain; never log them).

    During a rotation's overlap (``previous_valid_for``) the secret it replaced verifies too.
    """
    row = (
        Assistant.objects.filter(pk=assistant_pk)
        .values_list(
            "identity_secret_encrypted", "previous_identity_secret_encrypted", "previous_identity_secret_expires_at"
        )
        .first()
    )
    if row is None:
        return []
    current, previous, previous_until = row
    secrets = [decrypt(current)] if current else []
    if previous and previous_until is not None and previous_until > timezone.now():
        secrets.append(decrypt(previous))
    return secrets


def identity_secret_previous_until(assistant_pk: int) -> datetime | None:
    """Until when the secret the last rotation replaced still verifies (``None``: it does not)."""
    until = (
        Assistant.objects.filter(pk=assistant_pk).values_list("previous_identity_secret_expires_at", flat=True).first()
    )
    return until if until is not None and until > timezone.now() else None


def faq_entries(assistant_pk: int) -> list[FaqEntry]:
    return list(FaqEntry.objects.filter(assistant_id=assistant_pk).order_by("position", "id"))


def faq_search(*, assistant_pk: int, query: str, limit: int = 10) -> list[FaqMatch]:
    """The assistant's FAQ entries matching ``query``, best first, each with a score in 0..1.

    On PostgreSQL: full-text search (English stemming, question words weighted above
    answer words, any word may match). Elsewhere (SQLite): the responder's portable
    ranking, ``faq_matches``. Either way only the words of ``query`` are used, never
    its syntax, so no query can inject search operators.
    """
    entries = FaqEntry.objects.filter(assistant_id=assistant_pk)
    if connection.vendor != "postgresql":
        return faq_matches(entries.order_by("position", "id"), query)[:limit]
    terms = sorted(words(query))
    if not terms:
        return []
    search = reduce(operator.or_, (SearchQuery(term, config="english") for term in terms))
    vector = SearchVector("question", weight="A", config="english") + SearchVector(
        "answer", weight="B", config="english"
    )
    ranked = (
        entries.annotate(rank=SearchRank(vector, search, normalization=32))
        .filter(rank__gt=0)
        .order_by("-rank", "position", "id")[:limit]
    )
    return [FaqMatch(entry=entry, score=round(float(entry.rank), 3)) for entry in ranked]
