"""The admin console for superusers and the Support group (SPEC §8)."""

import pytest
from django.contrib.auth.models import Group

from accounts.actors import Actor
from accounts.models import AuditEvent, Plan, Workspace
from apikeys.models import ApiKey
from apikeys.services import api_key_revoke
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser():
    return factories.make_user("root@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def support_user():
    user = factories.make_user("support@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name="Support"))
    return user


ADMIN_PAGES = [
    "/admin/",
    "/admin/accounts/user/",
    "/admin/accounts/workspace/",
    "/admin/accounts/auditevent/",
    "/admin/accounts/ssoidentity/",
    "/admin/apikeys/apikey/",
    "/admin/assistants/assistant/",
    "/admin/assistants/conversation/",
    "/admin/assistants/message/",
]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_load_for_superuser(client, superuser, workspace, path):
    client.force_login(superuser)
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_load_for_support(client, support_user, workspace, path):
    client.force_login(support_user)
    assert client.get(path).status_code == 200


def test_support_group_can_view_and_revoke_but_not_change_plans_or_delete(support_user):
    assert support_user.has_perm("accounts.view_workspace")
    assert support_user.has_perm("apikeys.view_apikey")
    assert support_user.has_perm("apikeys.revoke_apikey")
    assert not support_user.has_perm("accounts.change_workspace")
    assert not support_user.has_perm("accounts.delete_workspace")
    assert not support_user.has_perm("accounts.delete_user")


def test_support_user_cannot_post_a_plan_change(client, support_user, workspace):
    client.force_login(support_user)
    page = client.get(f"/admin/accounts/workspace/{workspace.pk}/change/")
    assert page.status_code == 200
    assert b'name="plan"' not in page.content  # read-only for them
    client.post(f"/admin/accounts/workspace/{workspace.pk}/change/", {"plan": "free"})
    workspace.refresh_from_db()
    assert workspace.plan == Plan.PRO


def test_superuser_changes_plan_and_status_through_the_service(client, superuser, workspace):
    client.force_login(superuser)
    response = client.post(
        f"/admin/accounts/workspace/{workspace.pk}/change/",
        {
            "name": workspace.name,
            "slug": workspace.slug,
            "plan": "free",
            "status": "suspended",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    workspace.refresh_from_db()
    assert (workspace.plan, workspace.status) == ("free", "suspended")
    event = AuditEvent.objects.get(action="workspace.updated")
    assert event.details == {"plan": {"from": "pro", "to": "free"}, "status": {"from": "active", "to": "suspended"}}


def test_audit_events_are_read_only_in_admin(client, superuser, workspace):
    client.force_login(superuser)
    event = AuditEvent.objects.filter(workspace=workspace).first()
    assert client.get("/admin/accounts/auditevent/add/").status_code == 403
    assert client.post(f"/admin/accounts/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_workspace_admin_shows_members_inline(client, superuser, workspace, owner):
    client.force_login(superuser)
    page = client.get(f"/admin/accounts/workspace/{workspace.pk}/change/").content.decode()
    assert "memberships-0-role" in page
    assert Workspace.objects.count() == 1
    assert ApiKey.objects.count() == 0


def _change_workspace(client, workspace, **data):
    form = {
        "name": workspace.name,
        "slug": workspace.slug,
        "plan": workspace.plan,
        "status": workspace.status,
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        **data,
    }
    return client.post(f"/admin/accounts/workspace/{workspace.pk}/change/", form)


CONFIRM_LABEL = "I understand: these keys lose their write scopes"


def test_downgrade_warns_of_write_keys_and_saves_only_once_confirmed(client, superuser, workspace):
    writer, _ = factories.make_key(workspace, name="Zapier sync", scopes=["contacts:read", "tickets:write"])
    factories.make_key(workspace, name="Dashboard", scopes=["contacts:read"])
    gone, _ = factories.make_key(workspace, name="Old writer", scopes=["contacts:write"])
    api_key_revoke(key=gone, actor=Actor.for_user(factories.owner_of(workspace)))
    client.force_login(superuser)
    form = client.get(f"/admin/accounts/workspace/{workspace.pk}/change/").content.decode()
    assert CONFIRM_LABEL not in form  # nothing to acknowledge yet

    warned = _change_workspace(client, workspace, plan="free")
    page = warned.content.decode()
    assert warned.status_code == 200
    assert f"Zapier sync ({writer.hint}) loses tickets:write" in page
    assert "403 plan_upgrade_required" in page
    assert "Dashboard" not in page
    assert "Old writer" not in page
    assert CONFIRM_LABEL in page
    assert 'type="checkbox" name="confirm_plan_change"' in page
    workspace.refresh_from_db()
    assert workspace.plan == Plan.PRO
    assert not AuditEvent.objects.filter(action="workspace.updated").exists()

    assert _change_workspace(client, workspace, plan="free", confirm_plan_change="on").status_code == 302
    workspace.refresh_from_db()
    assert workspace.plan == Plan.FREE
    assert AuditEvent.objects.get(action="workspace.updated").details == {"plan": {"from": "pro", "to": "free"}}


def test_downgrade_without_write_keys_saves_at_once(client, superuser, workspace):
    factories.make_key(workspace, name="Dashboard", scopes=["contacts:read", "events:read"])
    factories.make_key(workspace, name="Widget", kind="publishable")
    client.force_login(superuser)
    assert _change_workspace(client, workspace, plan="free").status_code == 302
    workspace.refresh_from_db()
    assert workspace.plan == Plan.FREE


def test_other_changes_to_a_workspace_with_write_keys_save_at_once(client, superuser, workspace):
    factories.make_key(workspace, scopes=["tickets:write"])
    client.force_login(superuser)
    assert _change_workspace(client, workspace, plan="enterprise", status="suspended").status_code == 302
    workspace.refresh_from_db()
    assert (workspace.plan, workspace.status) == ("enterprise", "suspended")


def test_support_sees_no_acknowledgement_box(client, support_user, workspace):
    client.force_login(support_user)
    page = client.get(f"/admin/accounts/workspace/{workspace.pk}/change/").content.decode()
    assert CONFIRM_LABEL not in page
    assert "confirm_plan_change" not in page


def test_workspace_changelist_fits_a_laptop_screen(client, superuser, workspace):
    client.force_login(superuser)
    page = client.get("/admin/accounts/workspace/").content.decode()
    for column in ["name", "plan", "status", "created_at"]:
        assert f"column-{column}" in page
    assert "column-slug" not in page
