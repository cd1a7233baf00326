"""``/api/v1/hooks`` and ``/api/v1/events`` as an API client (Zapier, a customer's server) sees them."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import urlsplit

import pytest

from accounts.models import AuditEvent
from core.crypto import decrypt
from core.events import emit
from core.models import Event
from tests import factories
from webhooks.events import EVENT_TYPES, event_body
from webhooks.models import HookSubscription

pytestmark = pytest.mark.django_db
HOOKS = "/api/v1/hooks"
EVENTS = "/api/v1/events"
TARGET = "http://127.0.0.1:9/hook"  # checked, never called here (development mode allows loopback)


@pytest.fixture(autouse=True)
def _development_targets(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture
def key(workspace):
    return factories.make_key(workspace, scopes=["events:read"])


def auth(plain: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {plain}"}


def create(client, plain, **body):
    body = {"target_url": TARGET, "event": "contact.created", **body}
    return client.post(HOOKS, body, format="json", **auth(plain))


def test_subscribe_answers_the_secret_once(api_client, key, workspace):
    response = create(api_client, key[1], event="ticket.created")
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    data = response.json()
    assert set(data) == {"id", "target_url", "event", "created_at", "secret"}
    assert re.fullmatch(r"hook_[0-9A-Za-z]{20}", data["id"])
    assert (data["target_url"], data["event"]) == (TARGET, "ticket.created")
    assert data["created_at"].endswith("Z")
    secret = data["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24

    stored = HookSubscription.objects.get(public_id=data["id"])
    assert stored.workspace == workspace
    assert stored.created_by_key_id == key[0].pk
    assert secret not in stored.secret_encrypted
    assert decrypt(stored.secret_encrypted) == secret
    audit = AuditEvent.objects.get(action="webhook.created")
    assert audit.actor_kind == "api_key"
    assert audit.actor_ref == str(key[0].pk)
    assert secret not in json.dumps(audit.details)

    listed = api_client.get(HOOKS, **auth(key[1]))
    assert listed.status_code == 200
    assert secret not in listed.content.decode()
    assert listed.json() == {
        "next": None,
        "previous": None,
        "results": [{k: data[k] for k in ("id", "target_url", "event", "created_at")}],
    }


def test_list_is_newest_first_paginated_and_of_this_workspace_only(api_client, key, workspace):
    ids = [create(api_client, key[1]).json()["id"] for _ in range(5)]
    other_ws = factories.make_workspace()
    _, other_plain = factories.make_key(other_ws, scopes=["events:read"])
    create(api_client, other_plain)
    page = api_client.get(HOOKS + "?limit=2", **auth(key[1])).json()
    assert [h["id"] for h in page["results"]] == ids[::-1][:2]
    seen = [h["id"] for h in page["results"]]
    while page["next"]:
        parts = urlsplit(page["next"])
        page = api_client.get(f"{parts.path}?{parts.query}", **auth(key[1])).json()
        seen += [h["id"] for h in page["results"]]
    assert seen == ids[::-1]


def test_any_key_of_the_workspace_sees_its_subscriptions(api_client, key, workspace):
    hook_id = create(api_client, key[1]).json()["id"]
    _, other_plain = factories.make_key(workspace, scopes=["events:read"])
    assert [h["id"] for h in api_client.get(HOOKS, **auth(other_plain)).json()["results"]] == [hook_id]


def test_delete_answers_204_and_the_subscription_is_gone(api_client, key):
    hook_id = create(api_client, key[1]).json()["id"]
    response = api_client.delete(f"{HOOKS}/{hook_id}", **auth(key[1]))
    assert response.status_code == 204
    assert response.content == b""
    assert api_client.get(HOOKS, **auth(key[1])).json()["results"] == []
    hook = HookSubscription.objects.get(public_id=hook_id)
    assert hook.disabled_reason == "deleted"
    assert hook.secret_encrypted == ""
    assert api_client.delete(f"{HOOKS}/{hook_id}", **auth(key[1])).status_code == 404
    assert AuditEvent.objects.filter(action="webhook.deleted").count() == 1


def test_another_workspaces_hook_is_404_exactly_like_an_unknown_one(api_client, key):
    other_ws = factories.make_workspace()
    _, other_plain = factories.make_key(other_ws, scopes=["events:read"])
    theirs = create(api_client, other_plain).json()["id"]
    foreign = api_client.delete(f"{HOOKS}/{theirs}", **auth(key[1]))
    unknown = api_client.delete(f"{HOOKS}/hook_{'x' * 20}", **auth(key[1]))
    assert foreign.status_code == unknown.status_code == 404
    strip = lambda r: {k: v for k, v in r.json()["error"].items() if k != "request_id"}  # noqa: E731
    assert strip(foreign) == strip(unknown) == {"code": "not_found", "message": "No such webhook subscription."}
    assert not HookSubscription.objects.get(public_id=theirs).is_removed


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", HOOKS), ("post", HOOKS), ("delete", f"{HOOKS}/hook_x"), ("get", EVENTS)],
)
def test_every_endpoint_needs_events_read(api_client, workspace, method, path):
    _, plain = factories.make_key(workspace, scopes=["contacts:read", "tickets:write"])
    response = getattr(api_client, method)(path, **auth(plain))
    assert response.status_code == 403
    error = response.json()["error"]
    assert (error["code"], error["required_scope"]) == ("missing_scope", "events:read")


@pytest.mark.parametrize(("method", "path"), [("get", HOOKS), ("post", HOOKS), ("get", EVENTS)])
def test_no_key_is_401(api_client, db, method, path):
    response = getattr(api_client, method)(path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_required"


def test_the_free_plan_may_subscribe(api_client, free_workspace):
    _, plain = factories.make_key(free_workspace, scopes=["events:read"])
    assert create(api_client, plain).status_code == 201
    assert api_client.get(EVENTS, **auth(plain)).status_code == 200


def test_unknown_fields_are_refused_by_name(api_client, key):
    response = create(api_client, key[1], secret="whsec_mine", workspace=7)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["fields"] == {
        "secret": ["Unknown field: it cannot be set here."],
        "workspace": ["Unknown field: it cannot be set here."],
    }
    assert not HookSubscription.objects.exists()


def test_an_unknown_event_type_names_the_valid_ones(api_client, key):
    response = create(api_client, key[1], event="api_key.revoked")
    assert response.status_code == 400
    message = response.json()["error"]["fields"]["event"][0]
    assert "Unknown event type 'api_key.revoked'" in message
    for event_type in EVENT_TYPES:
        assert event_type in message


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"target_url": "https://example.com/" + "a" * 2000}, "target_url"),
        ({"target_url": ""}, "target_url"),
        ({"event": ""}, "event"),
    ],
)
def test_bad_values_are_400_naming_the_field(api_client, key, body, field):
    response = create(api_client, key[1], **body)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_missing_fields(api_client, key):
    response = api_client.post(HOOKS, {}, format="json", **auth(key[1]))
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"target_url", "event"}


def test_a_workspace_has_at_most_100_subscriptions(api_client, key, workspace):
    HookSubscription.objects.bulk_create(
        [HookSubscription(workspace=workspace, event="contact.created", target_url=TARGET) for _ in range(100)]
    )
    response = create(api_client, key[1])
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_a_subscription_of_a_revoked_key_is_not_listed(api_client, key, workspace, owner):
    from accounts.actors import Actor
    from apikeys.services import api_key_revoke

    create(api_client, key[1])
    _other, other_plain = factories.make_key(workspace, scopes=["events:read"])
    api_key_revoke(key=key[0], actor=Actor.for_user(owner))  # (its receiver runs on commit; the list hides it anyway)
    assert api_client.get(HOOKS, **auth(other_plain)).json()["results"] == []


# --- events


@pytest.fixture
def emitted(workspace, django_capture_on_commit_callbacks):
    """Events of this workspace (catalogue and not), and of another."""
    other = factories.make_workspace()
    with django_capture_on_commit_callbacks(execute=True):
        emit("contact.created", workspace_id=workspace.pk, data={"id": "ct_1"})
        emit("ticket.created", workspace_id=workspace.pk, data={"id": "tk_1", "subject": "Refund"})
        emit("api_key.revoked", workspace_id=workspace.pk, data={"id": 1, "hint": "wsk_live_x…y"})
        emit("internal.thing", workspace_id=workspace.pk, data={})
        emit("contact.created", workspace_id=other.pk, data={"id": "ct_other"})
        emit("ticket.updated", workspace_id=workspace.pk, data={"id": "tk_1", "status": "closed"})
    return Event.objects.filter(workspace_id=workspace.pk)


def test_events_are_the_catalogue_events_of_this_workspace_newest_first(api_client, key, emitted):
    response = api_client.get(EVENTS, **auth(key[1]))
    assert response.status_code == 200
    results = response.json()["results"]
    assert [e["type"] for e in results] == ["ticket.updated", "ticket.created", "contact.created"]
    for item in results:
        assert set(item) == {"id", "type", "created_at", "data"}
        # exactly the body a delivery of it carries
        assert item == json.loads(event_body(emitted.get(public_id=item["id"])))


def test_events_filter_by_type(api_client, key, emitted):
    results = api_client.get(f"{EVENTS}?type=ticket.created", **auth(key[1])).json()["results"]
    assert [(e["type"], e["data"]["subject"]) for e in results] == [("ticket.created", "Refund")]
    assert api_client.get(f"{EVENTS}?type=lead.captured", **auth(key[1])).json()["results"] == []


@pytest.mark.parametrize("value", ["api_key.revoked", "internal.thing", "bogus", ""])
def test_events_refuse_a_type_outside_the_catalogue(api_client, key, emitted, value):
    response = api_client.get(f"{EVENTS}?type={value}", **auth(key[1]))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert "Valid types: contact.created" in error["fields"]["type"][0]


def test_events_are_cursor_paginated(api_client, key, workspace, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ids = [emit("message.created", workspace_id=workspace.pk, data={"n": n}).id for n in range(30)]
    page = api_client.get(f"{EVENTS}?limit=12", **auth(key[1])).json()
    assert page["previous"] is None
    assert len(page["results"]) == 12
    seen = [e["id"] for e in page["results"]]
    while page["next"]:
        parts = urlsplit(page["next"])
        page = api_client.get(f"{parts.path}?{parts.query}", **auth(key[1])).json()
        seen += [e["id"] for e in page["results"]]
    assert seen == ids[::-1]
    assert api_client.get(f"{EVENTS}?limit=101", **auth(key[1])).status_code == 200
    assert api_client.get(f"{EVENTS}?limit=abc", **auth(key[1])).status_code == 400
    assert api_client.get(f"{EVENTS}?cursor=tampered", **auth(key[1])).status_code == 400
