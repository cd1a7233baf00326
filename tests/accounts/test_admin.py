"""The admin console for superusers and the Support group (SPEC §8)."""

import pytest
from django.contrib.auth.models import Group

from accounts.models import AuditEvent, Plan, Workspace
from apikeys.models import ApiKey
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
