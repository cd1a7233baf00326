"""API keys in the admin console (SPEC §8)."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from accounts.actors import Actor
from accounts.models import AuditEvent
from apikeys import keys
from apikeys.models import ApiKey
from tests import factories

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/apikeys/apikey/"
FIND = "/admin/apikeys/apikey/find/"


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


@pytest.fixture
def superuser_client(client):
    user = factories.make_user("root@example.com", is_staff=True, is_superuser=True)
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture(params=["support_client", "superuser_client"])
def staff_client(request):
    """Support staff and superusers alike."""
    return request.getfixturevalue(request.param)


def test_find_form_opens_the_change_page_of_a_pasted_key(staff_client, workspace):
    key, plain = factories.make_key(workspace, name="Leaky")
    factories.make_key(workspace, name="Other")
    form = staff_client.get(FIND).content.decode()
    assert 'method="post"' in form
    assert "csrfmiddlewaretoken" in form
    assert 'type="password" name="key"' in form
    assert 'autocomplete="off"' in form
    response = staff_client.post(FIND, {"key": f"  {plain}\n"})
    assert response.status_code == 302
    assert response["Location"] == f"{CHANGELIST}{key.pk}/change/"
    assert plain not in response.content.decode()
    page = staff_client.get(response["Location"]).content.decode()
    assert "Leaky" in page
    assert plain not in page
    assert key.digest not in page


def test_find_form_answers_an_unknown_key_without_echoing_it(staff_client, workspace):
    factories.make_key(workspace)
    plain = keys.generate("secret")  # well-formed, but not one of ours
    page = staff_client.post(FIND, {"key": plain}).content.decode()
    assert "No key matches. It may belong to another Parley installation." in page
    assert plain not in page
    assert plain[: len(keys.SECRET_PREFIX) + 8] not in page


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: p[:-1],  # cut short
        lambda p: p[:-1] + ("A" if p[-1] != "A" else "B"),  # bad checksum
        lambda p: p.replace("wsk_live_", "wsk_test_"),
        lambda p: "hello",
    ],
)
def test_find_form_refuses_a_malformed_key_without_echoing_it(staff_client, workspace, mangle):
    _, plain = factories.make_key(workspace)
    pasted = mangle(plain)
    page = staff_client.post(FIND, {"key": pasted}).content.decode()
    assert "That is not a Parley key: check that you pasted all of it." in page
    assert pasted not in page
    assert plain not in page


def test_find_form_needs_the_view_permission_and_csrf(client, workspace):
    _, plain = factories.make_key(workspace)
    assert client.get(FIND)["Location"].startswith("/admin/login/")
    client.force_login(factories.make_user("nobody@example.com", is_staff=True))
    assert client.get(FIND).status_code == 403
    assert client.post(FIND, {"key": plain}).status_code == 403

    csrf_client = Client(enforce_csrf_checks=True)
    user = factories.make_user("support2@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name="Support"))
    csrf_client.force_login(user)
    assert csrf_client.post(FIND, {"key": plain}).status_code == 403


def test_changelist_sends_people_to_the_find_form(support_client, workspace):
    factories.make_key(workspace)
    page = support_client.get(CHANGELIST).content.decode()
    assert f'href="{FIND}"' in page
    assert "Find a leaked key…" in page
    assert "Never paste a full key here" in page


@pytest.mark.parametrize(
    "url_of",
    [
        lambda p: f"{CHANGELIST}?q={p}",
        lambda p: f"{CHANGELIST}?q=%20{p.replace('_', '%5F')}",  # percent-encoded
        lambda p: f"{CHANGELIST}?status=active&q=leaked+{p}",
        lambda p: f"/admin/accounts/user/?q={p}",  # another model's changelist
        lambda p: f"/admin/accounts/auditevent/?action={p}",
        lambda p: f"/admin/accounts/workspace/1/change/?_changelist_filters=q%3D{p}",
        lambda p: f"/admin/?anything={p}",
        lambda p: f"{FIND}?key={p}",
        lambda p: f"/admin/logout/?next={p}",
    ],
)
def test_a_key_in_any_admin_url_redirects_to_the_find_form(staff_client, workspace, url_of):
    _, plain = factories.make_key(workspace)
    response = staff_client.get(url_of(plain))
    assert response.status_code == 302
    assert response["Location"] == FIND
    assert plain not in response.content.decode()
    page = staff_client.get(response["Location"]).content.decode()
    assert "Paste keys into this form, never into a search box or URL." in page
    assert plain not in page


def test_a_widget_token_in_an_admin_url_is_refused_too(support_client):
    token = "wst_" + "x" * 40
    response = support_client.get("/admin/accounts/user/", {"q": token})
    assert response["Location"] == FIND


@pytest.mark.parametrize("path", [f"{CHANGELIST}?q=", "/admin/login/?next=/admin/%3Fq%3D"])
def test_a_key_in_the_url_is_not_carried_into_the_login_redirect(client, workspace, path):
    _, plain = factories.make_key(workspace)
    response = client.get(path + plain)
    assert response.status_code == 302
    assert plain not in response["Location"]
    page = client.get(response["Location"], follow=True).content.decode()
    assert plain not in page


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


def test_revoke_selected_asks_for_confirmation_then_revokes_with_a_reason(staff_client, workspace, api_client):
    key, plain = factories.make_key(workspace, name="Leaky")
    assert api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {plain}").status_code == 200
    confirm = staff_client.post(CHANGELIST, {"action": "revoke_selected", "_selected_action": [key.pk]})
    page = confirm.content.decode()
    assert confirm.status_code == 200
    assert "Revoke these 1 key(s)?" in page
    assert "Leaky" in page
    assert key.hint in page
    assert workspace.name in page
    assert 'name="reason"' in page
    assert 'name="post" value="yes"' in page
    assert key.digest not in page
    assert plain not in page
    assert not ApiKey.objects.get(pk=key.pk).is_revoked  # nothing revoked yet

    response = staff_client.post(
        CHANGELIST,
        {"action": "revoke_selected", "_selected_action": [key.pk], "post": "yes", "reason": "Leaked on GitHub"},
        follow=True,
    )
    assert "Revoked 1 key(s)." in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_by == staff_client.user
    event = AuditEvent.objects.get(action="api_key.revoked")
    assert event.details == {"via": "admin", "hint": key.hint, "reason": "Leaked on GitHub"}
    denied = api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {plain}")
    assert denied.json()["error"]["code"] == "api_key_revoked"


def test_revoke_confirmation_cancels_back_to_the_changelist(support_client, workspace):
    key, _ = factories.make_key(workspace)
    page = support_client.post(
        f"{CHANGELIST}?status=active", {"action": "revoke_selected", "_selected_action": [key.pk]}
    ).content.decode()
    assert f'href="{CHANGELIST}?status=active" class="button cancel-link">No, take me back' in page
    assert support_client.get(f"{CHANGELIST}?status=active").status_code == 200
    assert not ApiKey.objects.get(pk=key.pk).is_revoked


def test_revoke_selected_skips_already_revoked_keys_and_says_so(support_client, workspace, owner):
    from apikeys.services import api_key_revoke

    live, _ = factories.make_key(workspace, name="Live one")
    gone, _ = factories.make_key(workspace, name="Gone one")
    api_key_revoke(key=gone, actor=Actor.for_user(owner))
    selected = {"action": "revoke_selected", "_selected_action": [live.pk, gone.pk]}
    page = support_client.post(CHANGELIST, selected).content.decode()
    assert "Live one" in page
    assert "Gone one" not in page
    assert "1 selected key(s) are already revoked and will be skipped." in page
    done = support_client.post(CHANGELIST, {**selected, "post": "yes"}, follow=True).content.decode()
    assert "Revoked 1 key(s)." in done
    assert "Skipped 1 already revoked key(s)." in done
    assert AuditEvent.objects.get(action="api_key.revoked", target_id=str(live.pk)).details == {
        "via": "admin",
        "hint": live.hint,
    }

    only_gone = support_client.post(
        CHANGELIST, {"action": "revoke_selected", "_selected_action": [gone.pk]}, follow=True
    ).content.decode()
    assert "Skipped 1 already revoked key(s): nothing to revoke." in only_gone


def test_revoke_reason_is_at_most_500_characters(support_client, workspace):
    key, _ = factories.make_key(workspace)
    data = {"action": "revoke_selected", "_selected_action": [key.pk], "post": "yes", "reason": "x" * 501}
    page = support_client.post(CHANGELIST, data).content.decode()
    assert "at most 500 characters" in page
    assert not ApiKey.objects.get(pk=key.pk).is_revoked


def test_a_key_pasted_into_the_reason_is_redacted(support_client, workspace):
    key, plain = factories.make_key(workspace)
    data = {"action": "revoke_selected", "_selected_action": [key.pk], "post": "yes", "reason": f"leaked: {plain}"}
    response = support_client.post(CHANGELIST, data, follow=True)
    assert plain not in response.content.decode()
    assert AuditEvent.objects.get(action="api_key.revoked").details["reason"] == "leaked: wsk_[REDACTED]"


def test_changelist_columns_fit_a_laptop_screen(support_client, workspace):
    factories.make_key(workspace)
    page = support_client.get(CHANGELIST).content.decode()
    for column in ["name", "hint", "workspace", "status_label", "last_used_at"]:
        assert f"column-{column}" in page
    for column in ["kind", "created_by", "created_at"]:
        assert f"column-{column}" not in page


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


def test_no_admin_page_shows_a_key_typed_into_a_form_field(superuser_client, workspace, secret_key):
    """A key pasted where it does not belong (here a workspace name) is stored as typed, but never shown."""
    _, plain = secret_key
    url = f"/admin/accounts/workspace/{workspace.pk}/change/"
    form = superuser_client.get(url).context["adminform"].form
    data = {**{name: form[name].value() or "" for name in ("slug", "plan", "status")}, "name": f"Acme {plain}"}
    data.update({"memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"})
    superuser_client.post(url, data)
    workspace.refresh_from_db()
    assert plain in workspace.name  # stored as typed: the admin is no place to police names
    for page in (url, "/admin/accounts/workspace/", "/admin/accounts/auditevent/"):
        html = superuser_client.get(page).content.decode()
        assert plain not in html, page
    assert "wsk_[REDACTED]" in superuser_client.get(url).content.decode()
