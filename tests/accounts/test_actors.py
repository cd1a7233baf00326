"""Every write names its actor — a person, an API key, a visitor or Parley itself — and the audit log keeps it."""

import pytest

from accounts.actors import Actor, ActorKind
from accounts.models import AuditEvent, Plan
from accounts.services import audit_event_create, workspace_update
from apikeys.services import api_key_revoke
from core.errors import Forbidden
from tests import factories

pytestmark = pytest.mark.django_db


def actors(owner):
    return {
        ActorKind.USER: Actor.for_user(owner, ip="203.0.113.5"),
        ActorKind.API_KEY: Actor.for_api_key(key_id=42, hint="wsk_live_AbCd…wxyz", ip="198.51.100.7"),
        ActorKind.VISITOR: Actor.for_visitor(visitor_id="vis_123", ip="192.0.2.9"),
        ActorKind.SYSTEM: Actor.system("GitHub secret scanning"),
    }


@pytest.mark.parametrize(
    ("kind", "label", "ref", "ip", "is_user"),
    [
        (ActorKind.USER, None, "", "203.0.113.5", True),
        (ActorKind.API_KEY, "API key wsk_live_AbCd…wxyz", "42", "198.51.100.7", False),
        (ActorKind.VISITOR, "Visitor vis_123", "vis_123", "192.0.2.9", False),
        (ActorKind.SYSTEM, "GitHub secret scanning", "", None, False),
    ],
)
def test_audit_event_records_each_actor_kind(workspace, owner, kind, label, ref, ip, is_user):
    audit_event_create(action="test.done", workspace=workspace, actor=actors(owner)[kind], target=workspace)
    event = AuditEvent.objects.get(action="test.done")
    assert event.actor_kind == kind
    assert event.actor_label == (label or owner.email)
    assert event.actor_ref == ref
    assert (str(event.ip) if event.ip else None) == ip
    assert event.actor_user == (owner if is_user else None)


@pytest.mark.parametrize(
    ("kind", "allowed"),
    [(ActorKind.USER, True), (ActorKind.SYSTEM, True), (ActorKind.API_KEY, False), (ActorKind.VISITOR, False)],
)
def test_revoking_a_key_with_each_actor_kind(workspace, owner, kind, allowed):
    """People who manage keys and Parley itself may revoke; an API key or a visitor may not."""
    key, _ = factories.make_key(workspace)
    actor = actors(owner)[kind]
    if not allowed:
        with pytest.raises(Forbidden):
            api_key_revoke(key=key, actor=actor)
        assert not AuditEvent.objects.filter(action="api_key.revoked").exists()
        return
    api_key_revoke(key=key, actor=actor)
    event = AuditEvent.objects.get(action="api_key.revoked")
    assert (event.actor_kind, event.actor_label) == (kind, actor.label)
    key.refresh_from_db()
    assert key.revoked_by == actor.user


def test_support_staff_change_a_plan_as_themselves(workspace):
    support = factories.make_user(is_staff=True)
    workspace_update(workspace=workspace, actor=Actor.for_user(support), plan=Plan.FREE)
    event = AuditEvent.objects.get(action="workspace.updated")
    assert (event.actor_kind, event.actor_user, event.details) == (
        ActorKind.USER,
        support,
        {"plan": {"from": "pro", "to": "free"}},
    )
