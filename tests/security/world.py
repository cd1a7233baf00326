"""A workspace with one of everything, for tests that call every route of a surface.

``world`` (a fixture, in conftest.py) is the owner's workspace with an assistant, a chat, a contact,
a ticket, a conversation, a webhook subscription and a member, a secret key with every scope, and
a widget visitor holding a token; ``write`` and ``get_answers`` call routes as their users would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Role
from apikeys.models import ApiKey
from apikeys.scopes import SCOPES
from tests import factories
from tests.security.urlconf import Route, fill, routes
from tests.widget.conftest import Visitor


@dataclass
class World:
    """The owner's workspace with one of everything, a key with every scope, a visitor with a token."""

    owner_client: Client
    key: str
    visitor: Visitor
    ids: dict[str, Any] = field(default_factory=dict)


def make_world(workspace, owner, settings, visitor) -> World:
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    client = Client()
    client.force_login(owner)
    assistant = factories.make_assistant(workspace, visibility="public")
    chat = client.post("/api/chats", {"assistant": assistant.public_id}, content_type="application/json").json()
    contact = factories.make_contact(workspace)
    ids = {
        "assistant_id": assistant.public_id,
        "chat_id": chat["id"],
        "contact_id": contact.public_id,
        "ticket_id": factories.make_ticket(workspace, contact=contact).public_id,
        "conversation_id": factories.make_conversation(assistant).public_id,
        "hook_id": factories.make_hook(workspace).public_id,
        "membership_id": workspace.memberships.get(user=factories.add_member(workspace, Role.MEMBER)).pk,
        "workspace_id": workspace.pk,
    }
    _, key = factories.make_key(workspace, scopes=list(SCOPES))
    visitor.start()
    return World(owner_client=client, key=key, visitor=visitor, ids=ids)


def write(world: World, route: Route, method: str, body: dict[str, Any]):
    if route.starts("api/widget/"):
        ids = {"assistant_id": world.visitor.assistant.public_id}
        return world.visitor.client.generic(
            method.upper(),
            fill(route.route, ids),
            json.dumps(body),
            "application/json",
            headers=world.visitor.headers(),
        )
    url = fill(route.route, world.ids)
    if route.starts("api/v1/"):
        return APIClient().generic(
            method.upper(), url, json.dumps(body), "application/json", HTTP_AUTHORIZATION=f"Bearer {world.key}"
        )
    return world.owner_client.generic(method.upper(), url, json.dumps(body), "application/json")


def get_answers(world: World) -> list[tuple[str, Any]]:
    """(URL, answer) of every GET route, as its users call it, and of every admin list and one change page each."""
    ids = {**world.ids}
    answers: list[tuple[str, Any]] = []
    staff = factories.make_user(is_staff=True, is_superuser=True)
    admin_client = Client()
    admin_client.force_login(staff)
    for route in routes():
        if "get" not in route.methods or "^" in route.route or route.starts("admin/", "oidc/", "accounts/"):
            continue
        if route.starts("api/sms/", "metrics"):
            continue
        if route.starts("api/widget/"):
            url = fill(route.route, {"assistant_id": world.visitor.assistant.public_id})
            answers.append((url, world.visitor.client.get(url, {"q": "hours"}, headers=world.visitor.headers())))
            continue
        url = fill(route.route, {**ids, "pk": ApiKey.objects.order_by("pk").first().pk})
        if route.starts("api/v1/"):
            answers.append((url, APIClient().get(url, HTTP_AUTHORIZATION=f"Bearer {world.key}")))
        else:
            answers.append((url, world.owner_client.get(url)))
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        answers.append((changelist, admin_client.get(changelist)))
        obj = model_admin.get_queryset(admin_client.get(changelist).wsgi_request).first()
        if obj is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            answers.append((change, admin_client.get(change)))
    return answers
