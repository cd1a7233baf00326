"""api_key_create / api_key_roll / api_key_revoke: the only way keys change (SPEC §2)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.actors import Actor
from accounts.models import AuditEvent, Role
from apikeys import keys
from apikeys.models import ApiKey
from apikeys.services import api_key_create, api_key_revoke, api_key_roll
from core.errors import Conflict, Forbidden, InvalidInput, PlanUpgradeRequired
from tests import factories

pytestmark = pytest.mark.django_db


def test_create_returns_plain_key_once_and_stores_only_digest_and_hint(workspace, owner):
    key, plain = api_key_create(
        workspace=workspace, actor=Actor.for_user(owner), name="Zapier", scopes=["contacts:read"]
    )
    key.refresh_from_db()
    assert keys.kind_of(plain) == "secret"
    assert key.digest == keys.digest(plain)
    assert key.hint == keys.hint(plain)
    stored = {f.name: getattr(key, f.name) for f in ApiKey._meta.fields}
    assert plain not in repr(stored)
    event = AuditEvent.objects.get(action="api_key.created")
    assert event.actor_user == owner
    assert plain not in repr(event.details)
    assert plain not in event.target_label


@pytest.mark.parametrize("role", [Role.MEMBER, Role.GUEST])
def test_members_and_guests_cannot_create(workspace, role):
    user = factories.add_member(workspace, role)
    with pytest.raises(Forbidden):
        api_key_create(workspace=workspace, actor=Actor.for_user(user), name="x", scopes=["contacts:read"])


def test_admin_can_create(workspace, admin_user):
    key, _ = api_key_create(workspace=workspace, actor=Actor.for_user(admin_user), name="x", scopes=["tickets:write"])
    assert key.created_by == admin_user


def test_free_plan_refuses_write_scopes_but_allows_reads_and_events(free_workspace):
    owner = factories.owner_of(free_workspace)
    with pytest.raises(PlanUpgradeRequired):
        api_key_create(
            workspace=free_workspace, actor=Actor.for_user(owner), name="x", scopes=["contacts:read", "contacts:write"]
        )
    assert not ApiKey.objects.exists()
    key, _ = api_key_create(
        workspace=free_workspace, actor=Actor.for_user(owner), name="x", scopes=["contacts:read", "events:read"]
    )
    assert key.scopes == ["contacts:read", "events:read"]


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"scopes": []}, "scopes"),
        ({"scopes": ["contacts:delete"]}, "scopes"),
        ({"kind": "publishable", "scopes": ["contacts:read"]}, "scopes"),
        ({"kind": "root"}, "kind"),
        ({"allowed_ips": ["10.0.0.300"]}, "allowed_ips"),
        ({"allowed_origins": ["shop.example.com"]}, "allowed_origins"),
        ({"allowed_origins": ["https://shop.example.com/path"]}, "allowed_origins"),
        ({"expires_at": timezone.now() - timedelta(days=1)}, "expires_at"),
        ({"rate_limit": "lots"}, "rate_limit"),
    ],
)
def test_invalid_input_names_the_field(workspace, owner, fields, bad_field):
    data = {"name": "x", "scopes": ["contacts:read"], **fields}
    with pytest.raises(InvalidInput) as error:
        api_key_create(workspace=workspace, actor=Actor.for_user(owner), **data)
    assert bad_field in error.value.fields
    assert not ApiKey.objects.exists()


def test_restrictions_are_normalised(workspace, owner):
    key, _ = api_key_create(
        workspace=workspace,
        actor=Actor.for_user(owner),
        name="x",
        scopes=["contacts:read"],
        allowed_ips=["10.0.0.0/8", "2001:db8::1", " 192.168.1.7 "],
        allowed_origins=["https://Shop.Example.com/", "https://*.example.com"],
    )
    assert key.allowed_ips == ["10.0.0.0/8", "192.168.1.7/32", "2001:db8::1/128"]
    assert key.allowed_origins == ["https://*.example.com", "https://shop.example.com"]


def test_publishable_key_has_no_scopes(workspace, owner):
    key, plain = api_key_create(workspace=workspace, actor=Actor.for_user(owner), name="widget", kind="publishable")
    assert plain.startswith("wpk_live_")
    assert key.scopes == []


@pytest.mark.parametrize("grace", [timedelta(0), timedelta(hours=1), timedelta(hours=24), timedelta(days=7)])
def test_roll_copies_settings_and_expires_old_key_after_grace(workspace, owner, grace):
    old, old_plain = api_key_create(
        workspace=workspace,
        actor=Actor.for_user(owner),
        name="CRM sync",
        scopes=["contacts:write"],
        allowed_ips=["10.0.0.0/8"],
        allowed_origins=["https://a.example.com"],
        rate_limit="50/m",
    )
    before = timezone.now()
    new, new_plain = api_key_roll(key=old, actor=Actor.for_user(owner), grace=grace)
    old.refresh_from_db()
    assert new_plain != old_plain
    assert (new.name, new.scopes, new.allowed_ips, new.allowed_origins, new.rate_limit) == (
        "CRM sync",
        ["contacts:write"],
        ["10.0.0.0/8"],
        ["https://a.example.com"],
        "50/m",
    )
    assert new.rolled_from == old
    assert before + grace <= old.expires_at <= timezone.now() + grace
    assert old.is_active is (grace > timedelta(0))
    assert AuditEvent.objects.filter(action="api_key.rolled", target_id=str(old.pk)).exists()


def test_roll_of_revoked_key_is_refused(workspace, owner):
    key, _ = factories.make_key(workspace)
    api_key_revoke(key=key, actor=Actor.for_user(owner))
    with pytest.raises(Conflict):
        api_key_roll(key=key, actor=Actor.for_user(owner))


def test_revoke_is_audited_and_idempotent(workspace, owner):
    key, _ = factories.make_key(workspace)
    api_key_revoke(key=key, actor=Actor.for_user(owner, ip="203.0.113.9"))
    api_key_revoke(key=key, actor=Actor.for_user(owner))
    key.refresh_from_db()
    assert key.revoked_by == owner
    event = AuditEvent.objects.get(action="api_key.revoked")
    assert str(event.ip) == "203.0.113.9"


def test_member_cannot_revoke_but_support_staff_can(workspace, member):
    from django.contrib.auth.models import Group

    key, _ = factories.make_key(workspace)
    with pytest.raises(Forbidden):
        api_key_revoke(key=key, actor=Actor.for_user(member))
    support = factories.make_user(is_staff=True)
    support.groups.add(Group.objects.get(name="Support"))
    api_key_revoke(key=key, actor=Actor.for_user(support), via="admin")
    key.refresh_from_db()
    assert key.is_revoked


def test_other_workspace_admin_cannot_revoke(workspace):
    key, _ = factories.make_key(workspace)
    stranger = factories.owner_of(factories.make_workspace())
    with pytest.raises(Forbidden):
        api_key_revoke(key=key, actor=Actor.for_user(stranger))
