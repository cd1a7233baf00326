"""Factories for the test suite: small functions that make valid objects."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime
from typing import Any

from django.utils import timezone

from accounts.actors import Actor
from accounts.models import Membership, Plan, Role, User, Workspace
from accounts.services import workspace_create
from apikeys.models import ApiKey, ApiKeyDailyUsage, ApiRequestLog, KeyNetwork
from apikeys.services import api_key_create
from assistants.models import Assistant, Conversation
from assistants.services import assistant_create
from crm.models import Contact, Ticket
from crm.services import contact_create, ticket_create
from webhooks.services import hook_create

PASSWORD = "correct-horse-battery-staple"
_seq = itertools.count(1)


def make_user(email: str | None = None, **extra: Any) -> User:
    return User.objects.create_user(email=email or f"user{next(_seq)}@example.com", password=PASSWORD, **extra)


def make_workspace(*, owner: User | None = None, plan: str = Plan.PRO, name: str | None = None) -> Workspace:
    owner = owner or make_user()
    return workspace_create(name=name or f"Workspace {next(_seq)}", owner=owner, plan=plan)


def add_member(workspace: Workspace, role: str = Role.MEMBER, user: User | None = None, **extra: Any) -> User:
    user = user or make_user()
    Membership.objects.create(workspace=workspace, user=user, role=role, **extra)
    return user


def owner_of(workspace: Workspace) -> User:
    return workspace.memberships.get(role=Role.OWNER).user  # type: ignore[return-value]  # owners have users


def make_key(workspace: Workspace, *, scopes: list[str] | None = None, **extra: Any) -> tuple[ApiKey, str]:
    """A key made through the service, as a user would make it."""
    extra.setdefault("name", f"Key {next(_seq)}")
    if extra.get("kind", ApiKey.Kind.SECRET) == ApiKey.Kind.SECRET and scopes is None:
        scopes = ["contacts:read"]
    return api_key_create(workspace=workspace, actor=Actor.for_user(owner_of(workspace)), scopes=scopes or [], **extra)


def make_assistant(
    workspace: Workspace,
    *,
    visibility: str = "workspace",
    created_by: User | None = None,
    faq: tuple[tuple[str, str], ...] = (),
    **fields: Any,
) -> Assistant:
    """An assistant made through the service by ``created_by`` (an owner or admin; default the owner)."""
    creator = created_by or owner_of(workspace)
    fields.setdefault("name", f"Assistant {next(_seq)}")
    return assistant_create(
        workspace=workspace,
        actor=Actor.for_user(creator),
        visibility=visibility,
        faq=[{"question": q, "answer": a} for q, a in faq],
        **fields,
    )


def make_contact(workspace: Workspace, **fields: Any) -> Contact:
    fields.setdefault("email", f"contact{next(_seq)}@example.com")
    return contact_create(workspace_id=workspace.pk, actor=Actor.system("tests"), **fields)


def make_ticket(workspace: Workspace, **fields: Any) -> Ticket:
    fields.setdefault("subject", f"Ticket {next(_seq)}")
    return ticket_create(workspace_id=workspace.pk, actor=Actor.system("tests"), **fields)


def make_conversation(assistant: Assistant, **fields: Any) -> Conversation:
    """A conversation on another channel than the app (as the widget, SMS or the API start them)."""
    fields.setdefault("channel", Conversation.Channel.WIDGET)
    return Conversation.objects.create(workspace=assistant.workspace, assistant=assistant, **fields)


def make_hook(workspace: Workspace, *, event: str = "contact.created", url: str = "http://127.0.0.1:9/hook") -> Any:
    """A webhook subscription made as ``POST /api/v1/hooks`` makes it (needs private targets allowed)."""
    key, _ = make_key(workspace, scopes=["events:read"])
    hook, _secret = hook_create(
        workspace=workspace,
        actor=Actor.for_api_key(key_id=key.pk, hint=key.hint),
        key_id=key.pk,
        target_url=url,
        event=event,
    )
    return hook


def make_request_log(key: ApiKey, *, status: int = 200, **fields: Any) -> ApiRequestLog:
    """A stored request-log row, as the usage batches write them (the pages only read them)."""
    fields.setdefault("created_at", timezone.now())
    fields.setdefault("method", "GET")
    fields.setdefault("path", "/api/v1/contacts")
    fields.setdefault("ip", "203.0.113.7")
    fields.setdefault("duration_ms", 12.5)
    if status >= 400:
        fields.setdefault("error_code", "not_found" if status == 404 else "internal_error")
    return ApiRequestLog.objects.create(entry_id=uuid.uuid4(), api_key=key, status=status, **fields)


def make_daily_usage(key: ApiKey, day: date, *, successes: int = 0, errors: int = 0) -> ApiKeyDailyUsage:
    return ApiKeyDailyUsage.objects.create(api_key=key, day=day, successes=successes, errors=errors)


def make_key_network(
    key: ApiKey, network: str, *, first_seen: datetime, last_seen: datetime, requests: int = 1
) -> KeyNetwork:
    return KeyNetwork.objects.create(
        api_key=key, network=network, first_seen=first_seen, last_seen=last_seen, requests=requests
    )
