"""API keys in the admin console (SPEC §8)."""

import pytest
from django.contrib.auth.models import Group

from accounts.actors import Actor
from accounts.models import AuditEvent
from apikeys.models import ApiKey
from tests import factories

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/apikeys/apikey/"


@pytest.fixture
def support_client(client):
    user = factories.make_user("support@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name="Support"))
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def staff_viewer(client):
    """Staff who may view keys but not revoke them."""
    from django.contrib.auth.models import Permission

    user = factories.make_user("viewer@example.com", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_apikey"))
    client.force_login(user)
    return client


def test_find_key_by_full_leaked_key(support_client, workspace):
    _, plain = factories.make_key(workspace, name="Leaky")
    factories.make_key(workspace, name="Other")
    page = support_client.get(CHANGELIST, {"q": plain}).content.decode()
    assert "Leaky" in page
    assert "Other" not in page
    assert "1 result" in page


@pytest.mark.parametrize("term_of", [lambda k: k.name, lambda k: k.hint, lambda k: k.workspace.name])
def test_search_by_name_hint_workspace(support_client, workspace, term_of):
    key, _ = factories.make_key(workspace, name="Zapier sync")
    assert "Zapier sync" in support_client.get(CHANGELIST, {"q": term_of(key)}).content.decode()


def test_search_by_creator_email(support_client, workspace, owner):
    factories.make_key(workspace, name="Zapier sync")
    assert "Zapier sync" in support_client.get(CHANGELIST, {"q": owner.email}).content.decode()


@pytest.mark.parametrize(("params", "shown"), [({"kind": "publishable"}, "Pub"), ({"status": "revoked"}, "Gone")])
def test_filters(support_client, workspace, owner, params, shown):
    from apikeys.services import api_key_revoke

    factories.make_key(workspace, name="Pub", kind="publishable")
    gone, _ = factories.make_key(workspace, name="Gone")
    factories.make_key(workspace, name="Plain")
    api_key_revoke(key=gone, actor=Actor.for_user(owner))
    page = support_client.get(CHANGELIST, params).content.decode()
    assert shown in page
    assert ">Plain<" not in page


def test_digest_is_never_shown_and_keys_are_never_created_there(support_client, workspace):
    key, plain = factories.make_key(workspace)
    detail = support_client.get(f"{CHANGELIST}{key.pk}/change/").content.decode()
    assert key.hint.replace("…", "&hellip;") in detail or key.hint in detail
    assert key.digest not in detail
    assert plain not in detail
    assert support_client.get(f"{CHANGELIST}add/").status_code == 403


def test_revoke_selected_action_goes_through_the_service(support_client, workspace, api_client):
    key, plain = factories.make_key(workspace)
    assert api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {plain}").status_code == 200
    response = support_client.post(CHANGELIST, {"action": "revoke_selected", "_selected_action": [key.pk]}, follow=True)
    assert "Revoked 1 key(s)." in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_by == support_client.user
    event = AuditEvent.objects.get(action="api_key.revoked")
    assert event.details["via"] == "admin"
    denied = api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert denied.json()["error"]["code"] == "api_key_revoked"


def test_staff_without_revoke_permission_has_no_revoke_action(staff_viewer, workspace):
    key, _ = factories.make_key(workspace)
    assert "revoke_selected" not in staff_viewer.get(CHANGELIST).content.decode()
    staff_viewer.post(CHANGELIST, {"action": "revoke_selected", "_selected_action": [key.pk]})
    assert not ApiKey.objects.get(pk=key.pk).is_revoked


def test_search_by_workspace_owner_email(support_client, workspace, admin_user):
    from apikeys.services import api_key_create

    api_key_create(
        workspace=workspace, actor=Actor.for_user(admin_user), name="Made by an admin", scopes=["contacts:read"]
    )
    factories.make_key(factories.make_workspace(), name="Someone else's")
    owner_email = factories.owner_of(workspace).email
    page = support_client.get(CHANGELIST, {"q": owner_email}).content.decode()
    assert "Made by an admin" in page
    assert "Someone else" not in page
