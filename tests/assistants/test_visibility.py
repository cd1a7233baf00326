"""SPEC §1's visibility table, as one parametrized test: who may list, read, update,
delete and chat with a public, workspace-only or private assistant through the in-app API.

404, never 403, for an assistant the requester may not see; 403 for one they see but
may not change; 401 for nobody signed in.
"""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Membership, Role
from assistants.models import Assistant
from tests import factories

pytestmark = pytest.mark.django_db

PERSONAS = ["owner", "admin", "member", "guest", "creator", "granted", "suspended", "outsider", "anonymous"]
ACTIONS = ["list", "read", "update", "delete", "chat"]
OK, DENIED, HIDDEN, ANON = "ok", 403, 404, 401
ALL = dict.fromkeys(ACTIONS, OK)
SEE_AND_CHAT = {"list": OK, "read": OK, "update": DENIED, "delete": DENIED, "chat": OK}
SEE_ONLY = {"list": OK, "read": OK, "update": DENIED, "delete": DENIED, "chat": DENIED}
NOTHING = {"list": "absent", "read": HIDDEN, "update": HIDDEN, "delete": HIDDEN, "chat": HIDDEN}
SIGNED_OUT = dict.fromkeys(ACTIONS, ANON)

# visibility → persona → action → expected
TABLE = {
    "public": {
        "owner": ALL, "admin": ALL, "member": SEE_AND_CHAT, "guest": SEE_ONLY, "creator": SEE_AND_CHAT,
        "granted": SEE_AND_CHAT, "suspended": NOTHING, "outsider": NOTHING, "anonymous": SIGNED_OUT,
    },
    "workspace": {
        "owner": ALL, "admin": ALL, "member": SEE_AND_CHAT, "guest": NOTHING, "creator": SEE_AND_CHAT,
        "granted": SEE_AND_CHAT, "suspended": NOTHING, "outsider": NOTHING, "anonymous": SIGNED_OUT,
    },
    "private": {
        "owner": ALL, "admin": ALL, "member": NOTHING, "guest": NOTHING, "creator": SEE_AND_CHAT,
        "granted": SEE_AND_CHAT, "suspended": NOTHING, "outsider": NOTHING, "anonymous": SIGNED_OUT,
    },
}  # fmt: skip

CASES = [
    pytest.param(visibility, persona, action, TABLE[visibility][persona][action], id=f"{visibility}-{persona}-{action}")
    for visibility in TABLE
    for persona in PERSONAS
    for action in ACTIONS
]


def persona_user(persona, workspace, assistant_factory):
    """The user playing ``persona``, and the assistant (made so that ``creator`` created it)."""
    if persona == "anonymous":
        return None, assistant_factory(None)
    if persona == "owner":
        return factories.owner_of(workspace), assistant_factory(None)
    if persona == "creator":
        # An admin made it, then became a member: the creator keeps seeing a private one.
        user = factories.add_member(workspace, Role.ADMIN)
        assistant = assistant_factory(user)
        Membership.objects.filter(workspace=workspace, user=user).update(role=Role.MEMBER)
        return user, assistant
    assistant = assistant_factory(None)
    if persona in {"admin", "member", "guest"}:
        return factories.add_member(workspace, persona), assistant
    if persona == "granted":
        user = factories.add_member(workspace, Role.MEMBER)
        assistant.grants.create(user=user)
        return user, assistant
    if persona == "suspended":
        return factories.add_member(workspace, Role.MEMBER, status=Membership.Status.SUSPENDED), assistant
    if persona == "outsider":  # an owner of another workspace
        return factories.owner_of(factories.make_workspace()), assistant
    raise AssertionError(persona)


def attempt(client, action, assistant):
    url = f"/api/assistants/{assistant.public_id}"
    if action == "list":
        return client.get("/api/assistants")
    if action == "read":
        return client.get(url)
    if action == "update":
        return client.patch(url, {"greeting": "Hello!"}, content_type="application/json")
    if action == "delete":
        return client.delete(url)
    return client.post(
        "/api/chats", {"assistant": assistant.public_id, "message": "hi"}, content_type="application/json"
    )


@pytest.mark.parametrize(("visibility", "persona", "action", "expected"), CASES)
def test_visibility_table(workspace, visibility, persona, action, expected):
    user, assistant = persona_user(
        persona,
        workspace,
        lambda creator: factories.make_assistant(workspace, visibility=visibility, created_by=creator),
    )
    client = Client()
    if user is not None:
        client.force_login(user)
    response = attempt(client, action, assistant)

    if action == "list" and expected in {OK, "absent"}:
        assert response.status_code == 200
        listed = [a["id"] for a in response.json()["results"]]
        assert (assistant.public_id in listed) == (expected == OK)
        return
    if expected == OK:
        assert response.status_code in {200, 201, 204}, response.content
        if action == "update":
            assert Assistant.objects.get(pk=assistant.pk).greeting == "Hello!"
        if action == "delete":
            assert not Assistant.objects.filter(pk=assistant.pk).exists()
        if action == "chat":
            assert [m["role"] for m in response.json()["messages"]] == ["user", "assistant"]
        return
    assert response.status_code == expected, response.content
    code = {ANON: "not_authenticated", DENIED: "permission_denied", HIDDEN: "not_found"}[expected]
    assert response.json()["error"]["code"] == code
    stored = Assistant.objects.filter(pk=assistant.pk).first()
    assert stored is not None
    assert stored.greeting != "Hello!"
    assert not stored.conversations.exists()
