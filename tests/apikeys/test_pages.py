"""Settings → API Keys and the audit log, through Django's test client (SPEC §6)."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Membership, Role
from accounts.permissions import DENIED_TEXT, Action
from apikeys.models import ApiKey
from apikeys.scopes import READ_ONLY, READ_WRITE
from tests import factories

pytestmark = pytest.mark.django_db

LIST = reverse("apikeys:list")
CREATE = reverse("apikeys:create")
AUDIT_LOG = reverse("audit-log")
PLAIN_KEY = re.compile(r"w[sp]k_live_[0-9A-Za-z]{38}")


def detail_url(key: ApiKey) -> str:
    return reverse("apikeys:detail", args=[key.pk])


def roll_url(key: ApiKey) -> str:
    return reverse("apikeys:roll", args=[key.pk])


def revoke_url(key: ApiKey) -> str:
    return reverse("apikeys:revoke", args=[key.pk])


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_token(client: Client, url: str = CREATE) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.context["form_token"]


def create(client: Client, **data):
    """Open the create form (for its one-time token) and submit it."""
    payload = {
        "name": "Zapier production",
        "kind": "secret",
        "scopes": ["contacts:read", "tickets:read"],
        "expiry": "never",
        "form_token": form_token(client),
        **data,
    }
    return client.post(CREATE, payload)


def shown_key(response) -> str:
    match = PLAIN_KEY.search(response.content.decode())
    assert match, "the response shows no full key"
    return match.group(0)


def checked_boxes(response) -> set[str]:
    html = response.content.decode()
    return set(re.findall(r'name="scopes" value="([a-z:]+)" id="[^"]+" checked', html))


# --- who may see the pages


@pytest.mark.parametrize("role", ["owner", "admin_user"])
@pytest.mark.parametrize("url", [LIST, CREATE, AUDIT_LOG])
def test_owners_and_admins_see_the_pages(request, role, url):
    client = logged_in(request.getfixturevalue(role))
    response = client.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("role", ["member", "guest"])
@pytest.mark.parametrize("url", [LIST, CREATE])
def test_members_and_guests_get_the_403_page_naming_the_managers(request, workspace, owner, admin_user, role, url):
    user = request.getfixturevalue(role)
    response = logged_in(user).get(url)
    assert response.status_code == 403
    html = response.content.decode()
    assert DENIED_TEXT[Action.MANAGE_API_KEYS] in html
    assert owner.email in html
    assert admin_user.email in html
    assert user.email not in html.split("</header>", 1)[1]  # named in the top bar only
    assert "Create key" not in html


@pytest.mark.parametrize("role", ["member", "guest"])
def test_members_and_guests_cannot_read_the_audit_log(request, owner, role):
    response = logged_in(request.getfixturevalue(role)).get(AUDIT_LOG)
    assert response.status_code == 403
    assert "Only workspace owners and admins can view the audit log." in response.content.decode()
    assert owner.email in response.content.decode()


@pytest.mark.parametrize("role", ["member", "guest"])
def test_members_and_guests_cannot_open_roll_or_revoke_a_key(request, secret_key, role):
    key, _ = secret_key
    client = logged_in(request.getfixturevalue(role))
    for url in (detail_url(key), roll_url(key), revoke_url(key)):
        assert client.get(url).status_code == 403
    assert client.post(revoke_url(key)).status_code == 403
    assert client.post(roll_url(key), {"grace": "now"}).status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None
    assert key.expires_at is None
    assert ApiKey.objects.count() == 1


def test_suspended_admin_membership_grants_nothing(workspace):
    user = factories.add_member(workspace, Role.ADMIN, status=Membership.Status.SUSPENDED)
    response = logged_in(user).get(LIST)
    assert response.status_code == 403
    assert "not an active member of any workspace" in response.content.decode()


def test_the_current_workspace_decides(workspace, free_workspace):
    """An owner elsewhere who is a member of the current workspace is refused here."""
    user = factories.owner_of(free_workspace)
    factories.add_member(workspace, Role.MEMBER, user=user)
    client = logged_in(user)
    assert client.get(LIST).status_code == 200  # the first workspace is the current one
    client.post(reverse("workspace-switch"), {"workspace": workspace.pk})
    assert client.get(LIST).status_code == 403


def _sample_urls(key: ApiKey) -> list[str]:
    return [LIST, CREATE, AUDIT_LOG, detail_url(key), roll_url(key), revoke_url(key)]


def test_logged_out_users_go_to_login_and_come_back(client, owner, secret_key):
    key, _ = secret_key
    for url in _sample_urls(key):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('account_login')}?next={url}"
    response = client.post(
        reverse("account_login"), {"login": owner.email, "password": factories.PASSWORD, "next": LIST}
    )
    assert response.status_code == 302
    assert response["Location"] == LIST
    assert client.get(LIST).status_code == 200


def test_logged_out_posts_change_nothing(client, secret_key):
    key, _ = secret_key
    assert client.post(revoke_url(key)).status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is None


@pytest.mark.parametrize("make_url", [detail_url, roll_url, revoke_url])
def test_keys_of_another_workspace_are_404(owner, make_url):
    other_key, _ = factories.make_key(factories.make_workspace())
    client = logged_in(owner)
    assert client.get(make_url(other_key)).status_code == 404
    if make_url is not detail_url:  # the detail page takes no POST at all
        assert client.post(make_url(other_key), {"grace": "now", "form_token": "x"}).status_code == 404
    other_key.refresh_from_db()
    assert other_key.revoked_at is None
    assert other_key.expires_at is None


@pytest.mark.parametrize("make_url", [detail_url, roll_url, revoke_url])
def test_unknown_key_ids_are_404(owner, make_url):
    ghost = ApiKey(pk=999_999)
    assert logged_in(owner).get(make_url(ghost)).status_code == 404


def test_another_workspaces_owner_cannot_reach_our_key(secret_key):
    """A user of another workspace trying a key id that is not theirs."""
    key, _ = secret_key
    stranger = factories.owner_of(factories.make_workspace())
    client = logged_in(stranger)
    for url in (detail_url(key), roll_url(key), revoke_url(key)):
        assert client.get(url).status_code == 404
    assert client.post(revoke_url(key)).status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


# --- the list


def test_empty_state_invites_to_create_a_key(owner):
    response = logged_in(owner).get(LIST)
    html = response.content.decode()
    assert "No API keys yet" in html
    assert f'href="{CREATE}"' in html
    assert "Revoked and expired" not in html


def test_list_shows_every_column(workspace, owner, admin_user):
    key, _ = factories.make_key(
        workspace,
        name="Billing sync",
        scopes=["contacts:read", "tickets:write"],
        allowed_ips=["203.0.113.7", "10.0.0.0/8"],
        allowed_origins=["https://shop.example.com"],
        rate_limit="500/h",
        expires_at=timezone.now() + timedelta(days=10),
    )
    ApiKey.objects.filter(pk=key.pk).update(
        last_used_at=timezone.now() - timedelta(hours=3), last_used_ip="198.51.100.4"
    )
    never, _ = factories.make_key(workspace, name="Widget", kind=ApiKey.Kind.PUBLISHABLE)
    html = logged_in(admin_user).get(LIST).content.decode()
    assert f'href="{detail_url(key)}"' in html
    assert "Billing sync" in html
    assert key.hint in html
    assert never.hint in html
    assert "badge-secret" in html
    assert "badge-publishable" in html
    assert "contacts:read" in html
    assert "tickets:write" in html
    assert owner.email in html  # created by
    assert "3\xa0hours ago" in html
    assert "198.51.100.4" in html
    assert "Never" in html  # the widget key was never used
    assert "10.0.0.0/8" in html or "203.0.113.7/32" in html
    assert "+1 more" in html
    assert "https://shop.example.com" in html
    assert "500/h" in html
    assert '<th scope="col">' in html
    assert '<th scope="row"' in html
    assert "<time datetime=" in html


def test_revoked_and_expired_keys_are_listed_apart(workspace, owner):
    factories.make_key(workspace, name="Active one")
    revoked, _ = factories.make_key(workspace, name="Revoked one")
    expired, _ = factories.make_key(workspace, name="Expired one")
    ApiKey.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now(), revoked_by=owner)
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    html = logged_in(owner).get(LIST).content.decode()
    current, retired = html.split("Revoked and expired", 1)
    assert "Active one" in current
    assert "Revoked one" not in current
    assert "Expired one" not in current
    assert "Revoked one" in retired
    assert "Expired one" in retired
    assert "badge-revoked" in retired
    assert "badge-expired" in retired


def test_list_only_shows_the_current_workspace(owner, secret_key):
    other_key, _ = factories.make_key(factories.make_workspace(), name="Someone else's")
    html = logged_in(owner).get(LIST).content.decode()
    assert secret_key[0].hint in html
    assert other_key.hint not in html
    assert "Someone else's" not in html


# --- create and shown once


def test_create_shows_the_key_once(owner, workspace, caplog):
    client = logged_in(owner)
    caplog.set_level(logging.DEBUG)
    response = create(client, name="Zapier", scopes=["contacts:read", "tickets:write"])
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    plain = shown_key(response)
    html = response.content.decode()
    assert f'value="{plain}"' in html
    assert "readonly" in html
    assert "will not be shown again" in html
    assert "data-copy-target" in html
    assert 'aria-live="polite"' in html

    key = ApiKey.objects.get(workspace=workspace)
    assert key.digest == hashlib.sha256(plain.encode()).hexdigest()
    assert key.name == "Zapier"
    assert key.scopes == ["contacts:read", "tickets:write"]
    assert key.created_by == owner
    assert plain not in str(ApiKey.objects.filter(pk=key.pk).values().get())

    # Nothing keeps it: not the session, not the logs, not another page.
    assert all(plain not in str(value) for value in client.session.values())
    for session in Session.objects.all():
        assert plain not in str(session.get_decoded())
        assert plain not in session.session_data
    assert all(plain not in morsel.value for morsel in client.cookies.values())
    assert plain not in caplog.text
    for url in (LIST, detail_url(key), CREATE):
        again = client.get(url)
        assert plain not in again.content.decode()
        assert not PLAIN_KEY.search(again.content.decode())
    assert key.hint in client.get(LIST).content.decode()


def test_another_tab_never_sees_the_key(owner):
    first, second = logged_in(owner), logged_in(owner)
    plain = shown_key(create(first))
    assert plain not in second.get(LIST).content.decode()


def test_resubmitting_the_form_makes_no_second_key_and_shows_nothing(owner):
    client = logged_in(owner)
    token = form_token(client)
    data = {"name": "Once", "kind": "secret", "scopes": ["contacts:read"], "expiry": "never", "form_token": token}
    first = client.post(CREATE, data)
    assert first.status_code == 201
    plain = shown_key(first)
    again = client.post(CREATE, data, follow=True)
    assert again.redirect_chain == [(LIST, 302)]
    assert plain not in again.content.decode()
    assert "already submitted" in again.content.decode()
    assert ApiKey.objects.count() == 1


def test_create_is_audited_with_the_client_ip(owner, workspace):
    client = logged_in(owner)
    create(client, name="Audited", REMOTE_ADDR="192.0.2.10")
    key = ApiKey.objects.get(name="Audited")
    event = AuditEvent.objects.get(action="api_key.created", target_id=str(key.pk))
    assert event.actor_user == owner
    assert event.workspace == workspace


def test_admins_create_keys_too(admin_user, workspace):
    response = create(logged_in(admin_user), name="By an admin")
    assert response.status_code == 201
    assert ApiKey.objects.get(name="By an admin").created_by == admin_user


def test_publishable_keys_carry_no_scopes(owner):
    response = create(logged_in(owner), name="Widget", kind="publishable", scopes=[])
    assert response.status_code == 201
    assert shown_key(response).startswith("wpk_live_")
    key = ApiKey.objects.get(name="Widget")
    assert key.kind == ApiKey.Kind.PUBLISHABLE
    assert key.scopes == []


def test_restrictions_one_per_line_or_comma_separated(owner):
    response = create(
        logged_in(owner),
        name="Restricted",
        allowed_ips="203.0.113.7\n10.0.0.0/8, 2001:db8::/32",
        allowed_origins="https://shop.example.com,\r\nhttps://*.example.org",
        rate_limit="500",
    )
    assert response.status_code == 201
    key = ApiKey.objects.get(name="Restricted")
    assert key.allowed_ips == sorted(["203.0.113.7/32", "10.0.0.0/8", "2001:db8::/32"])
    assert key.allowed_origins == ["https://*.example.org", "https://shop.example.com"]
    assert key.rate_limit == "500/h"


@pytest.mark.parametrize(("expiry", "days"), [("never", None), ("30", 30), ("90", 90), ("365", 365)])
def test_expiry_choices(owner, expiry, days):
    before = timezone.now()
    assert create(logged_in(owner), name="Expiring", expiry=expiry).status_code == 201
    key = ApiKey.objects.get(name="Expiring")
    if days is None:
        assert key.expires_at is None
    else:
        assert before + timedelta(days=days) <= key.expires_at <= timezone.now() + timedelta(days=days)


def test_expiry_on_a_date_ends_with_that_day(owner):
    """The key works through the chosen day (UTC), and every page shows that day, not the next."""
    day = date.today() + timedelta(days=45)
    client = logged_in(owner)
    shown = create(client, name="Dated", expiry="date", expires_on=day.isoformat())
    assert shown.status_code == 201
    key = ApiKey.objects.get(name="Dated")
    assert key.expires_at == datetime(day.year, day.month, day.day, 23, 59, 59, 999999, tzinfo=UTC)
    label, next_label = (f"{d:%b} {d.day}, {d.year}" for d in (day, day + timedelta(days=1)))
    for response in (shown, client.get(LIST), client.get(detail_url(key))):
        html = response.content.decode()
        assert label in html
        assert next_label not in html


# --- validation


def test_validation_errors_are_inline_and_keep_what_was_typed(owner):
    response = create(
        logged_in(owner),
        name="",
        scopes=["contacts:read", "chat:write"],
        allowed_ips="203.0.113.7\nnot-an-ip",
        allowed_origins="ftp://files.example.com",
        rate_limit="250",
        expiry="90",
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert ApiKey.objects.count() == 0
    assert "The key was not created" in html
    for field in ("name", "allowed_ips", "allowed_origins"):
        assert f'id="id_{field}_error"' in html
        assert re.search(rf'id="id_{field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="id_{field}"', html)
    assert "Give the key a name" in html
    assert "not-an-ip" in html  # in the error and still in the textarea
    assert "203.0.113.7\nnot-an-ip</textarea>" in html
    assert "ftp://files.example.com</textarea>" in html
    assert 'value="250"' in html
    assert '<option value="90" selected>' in html
    assert checked_boxes(response) == {"contacts:read", "chat:write"}
    assert not PLAIN_KEY.search(html)


def test_a_secret_key_needs_a_scope(owner):
    response = create(logged_in(owner), name="No scopes", scopes=[])
    assert response.status_code == 400
    assert 'id="id_scopes_error"' in response.content.decode()
    assert "Choose at least one scope." in response.content.decode()
    assert 'value="No scopes"' in response.content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"expiry": "date", "expires_on": ""}, "expires_on", "Pick the date"),
        ({"expiry": "date", "expires_on": "2001-01-01"}, "expires_on", "must be in the future"),
        ({"expiry": "date", "expires_on": "soon"}, "expires_on", "Enter a valid date"),
        ({"rate_limit": "0"}, "rate_limit", "greater than or equal to 1"),
        ({"name": "x" * 101}, "name", "At most 100 characters"),
        ({"kind": "root"}, "kind", "Select a valid choice"),
        ({"scopes": ["contacts:delete"]}, "scopes", "Select a valid choice"),
        ({"kind": "publishable", "scopes": ["contacts:read"]}, "scopes", "Publishable keys carry no scopes"),
    ],
)
def test_each_bad_field_is_named(owner, data, field, message):
    response = create(logged_in(owner), **data)
    assert response.status_code == 400
    html = response.content.decode()
    error = re.search(rf'<div class="field-error" id="id_{field}_error">(.*?)</div>', html, re.S)
    assert error, f"no inline error for {field}"
    assert message in error.group(1)
    assert ApiKey.objects.count() == 0


# --- the free plan


def test_free_plan_disables_write_scopes_with_an_upgrade_note(free_workspace):
    response = logged_in(factories.owner_of(free_workspace)).get(CREATE)
    html = response.content.decode()
    assert "Write scopes need the Pro plan or higher." in html
    for scope in READ_WRITE:
        box = re.search(rf'<input type="checkbox" name="scopes" value="{scope}"[^>]*>', html).group(0)
        assert ("disabled" in box) == scope.endswith(":write"), scope


def test_free_plan_refuses_a_posted_write_scope_with_403(free_workspace):
    client = logged_in(factories.owner_of(free_workspace))
    response = create(client, name="Sneaky", scopes=["contacts:read", "contacts:write"])
    assert response.status_code == 403
    html = response.content.decode()
    assert "Pro plan" in html
    assert 'value="Sneaky"' in html  # the form again, as typed
    assert 'action="/settings/api-keys/new/"' in html
    assert ApiKey.objects.filter(workspace=free_workspace).count() == 0
    assert not PLAIN_KEY.search(html)


def test_free_plan_may_create_read_keys(free_workspace):
    client = logged_in(factories.owner_of(free_workspace))
    response = create(client, name="Reader", scopes=["contacts:read", "events:read"])
    assert response.status_code == 201


# --- presets without JavaScript


def test_read_only_preset_rerenders_the_form_with_those_boxes(owner):
    client = logged_in(owner)
    data = {
        "name": "Typed name",
        "kind": "secret",
        "scopes": ["chat:write"],
        "expiry": "30",
        "allowed_ips": "203.0.113.7",
        "preset": "read_only",
        "form_token": form_token(client),
    }
    response = client.post(CREATE, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert checked_boxes(response) == set(READ_ONLY)
    assert 'value="Typed name"' in html
    assert '<option value="30" selected>' in html
    assert "203.0.113.7</textarea>" in html
    assert "Read only preset applied." in html
    assert "field-error" not in html
    assert ApiKey.objects.count() == 0


def test_read_write_preset_checks_everything_on_pro(owner):
    client = logged_in(owner)
    response = client.post(CREATE, {"name": "", "kind": "secret", "preset": "read_write", "form_token": "t"})
    assert response.status_code == 200
    assert checked_boxes(response) == set(READ_WRITE)
    assert "field-error" not in response.content.decode()


def test_read_write_preset_on_free_checks_what_the_plan_allows(free_workspace):
    client = logged_in(factories.owner_of(free_workspace))
    response = client.post(CREATE, {"name": "x", "kind": "secret", "preset": "read_write"})
    assert checked_boxes(response) == set(READ_ONLY)


def test_enter_in_the_name_field_creates_rather_than_applies_a_preset(owner):
    """The first submit button of the form (the one Enter presses) has no preset value."""
    html = logged_in(owner).get(CREATE).content.decode()
    form = html.split("data-key-form>", 1)[1]
    first_button = re.search(r"<button[^>]*>", form).group(0)
    assert 'type="submit"' in first_button
    assert "preset" not in first_button


# --- roll


@pytest.mark.parametrize(
    ("grace", "delta"),
    [("now", timedelta(0)), ("1h", timedelta(hours=1)), ("24h", timedelta(hours=24)), ("7d", timedelta(days=7))],
)
def test_roll_with_each_grace(owner, secret_key, grace, delta):
    old, old_plain = secret_key
    client = logged_in(owner)
    confirm = client.get(roll_url(old))
    assert confirm.status_code == 200
    assert "The current key expires" in confirm.content.decode()
    before = timezone.now()
    response = client.post(roll_url(old), {"grace": grace, "form_token": confirm.context["form_token"]})
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    plain = shown_key(response)
    assert plain != old_plain
    old.refresh_from_db()
    assert before + delta <= old.expires_at <= timezone.now() + delta
    new = ApiKey.objects.get(rolled_from=old)
    assert new.digest == hashlib.sha256(plain.encode()).hexdigest()
    assert new.scopes == old.scopes
    assert new.name == old.name
    assert AuditEvent.objects.filter(action="api_key.rolled", target_id=str(old.pk)).exists()
    for url in (LIST, detail_url(new), detail_url(old)):
        assert plain not in client.get(url).content.decode()


def test_roll_resubmitted_rolls_once(owner, secret_key):
    old, _ = secret_key
    client = logged_in(owner)
    data = {"grace": "24h", "form_token": form_token(client, roll_url(old))}
    assert client.post(roll_url(old), data).status_code == 201
    again = client.post(roll_url(old), data)
    assert again.status_code == 302
    assert ApiKey.objects.filter(rolled_from=old).count() == 1


def test_roll_needs_a_grace_choice(owner, secret_key):
    old, _ = secret_key
    client = logged_in(owner)
    response = client.post(roll_url(old), {"grace": "forever", "form_token": form_token(client, roll_url(old))})
    assert response.status_code == 400
    assert 'id="id_grace_error"' in response.content.decode()
    assert ApiKey.objects.count() == 1


def test_a_revoked_key_cannot_be_rolled(owner, secret_key):
    key, _ = secret_key
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    client = logged_in(owner)
    assert client.get(roll_url(key)).status_code == 302
    response = client.post(roll_url(key), {"grace": "now", "form_token": "whatever"}, follow=True)
    assert ApiKey.objects.count() == 1
    assert response.status_code == 200


def test_roll_on_a_downgraded_workspace_names_the_pro_plan(owner, workspace, secret_key):
    key, _ = secret_key  # carries tickets:write
    workspace.plan = "free"
    workspace.save()
    client = logged_in(owner)
    response = client.post(roll_url(key), {"grace": "now", "form_token": form_token(client, roll_url(key))})
    assert response.status_code == 403
    assert "Pro plan" in response.content.decode()
    assert ApiKey.objects.count() == 1


# --- revoke


def test_revoke_behind_a_confirmation(owner, secret_key):
    key, _ = secret_key
    client = logged_in(owner)
    confirm = client.get(revoke_url(key))
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert f'action="{revoke_url(key)}"' in html
    assert 'method="post"' in html
    key.refresh_from_db()
    assert key.revoked_at is None  # a GET changes nothing

    response = client.post(revoke_url(key), REMOTE_ADDR="192.0.2.55", follow=True)
    assert response.redirect_chain == [(LIST, 302)]
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert key.revoked_by == owner
    current, retired = response.content.decode().split("Revoked and expired", 1)
    assert "No active API keys" in current
    assert "is revoked" in current  # the flash message
    assert key.hint in retired
    event = AuditEvent.objects.get(action="api_key.revoked", target_id=str(key.pk))
    assert event.ip == "192.0.2.55"


def test_revoking_twice_is_harmless(owner, secret_key):
    key, _ = secret_key
    client = logged_in(owner)
    client.post(revoke_url(key))
    response = client.post(revoke_url(key), follow=True)
    assert "already revoked" in response.content.decode()
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1


# --- CSRF


def test_posts_need_a_csrf_token(owner, secret_key):
    key, _ = secret_key
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(revoke_url(key)).status_code == 403
    assert client.post(roll_url(key), {"grace": "now"}).status_code == 403
    assert client.post(CREATE, {"name": "x", "kind": "secret", "scopes": ["contacts:read"]}).status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None
    assert ApiKey.objects.count() == 1


def test_posts_with_the_csrf_token_work(owner, secret_key):
    key, _ = secret_key
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    page = client.get(revoke_url(key))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    assert client.post(revoke_url(key), {"csrfmiddlewaretoken": token}).status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None


# --- detail


def test_detail_shows_the_key_and_its_audit_events(owner, secret_key):
    key, plain = secret_key
    client = logged_in(owner)
    client.post(revoke_url(key))
    response = client.get(detail_url(key))
    assert response.status_code == 200
    html = response.content.decode()
    assert key.name in html
    assert key.hint in html
    assert plain not in html
    assert "api_key.created" in html
    assert "api_key.revoked" in html
    assert "badge-revoked" in html
    assert f'href="{roll_url(key)}"' not in html  # nothing to roll any more


def test_detail_of_an_active_key_links_roll_and_revoke(owner, secret_key):
    key, _ = secret_key
    html = logged_in(owner).get(detail_url(key)).content.decode()
    assert f'href="{roll_url(key)}"' in html
    assert f'href="{revoke_url(key)}"' in html
    assert "contacts:read" in html
    assert "Any IP" in html


# --- audit log


def test_audit_log_lists_create_roll_and_revoke(owner, workspace):
    client = logged_in(owner)
    create(client, name="Lifecycle")
    key = ApiKey.objects.get(name="Lifecycle")
    client.post(roll_url(key), {"grace": "1h", "form_token": form_token(client, roll_url(key))})
    new = ApiKey.objects.get(rolled_from=key)
    client.post(revoke_url(new))
    html = client.get(AUDIT_LOG).content.decode()
    for action in ("api_key.created", "api_key.rolled", "api_key.revoked"):
        assert action in html
    assert owner.email in html
    # Newest first.
    assert html.index("api_key.revoked") < html.index("api_key.rolled")


def test_audit_log_is_paginated_by_50(owner, workspace):
    AuditEvent.objects.bulk_create(
        AuditEvent(workspace=workspace, action=f"test.event_{i:03d}", actor_label="robot") for i in range(60)
    )
    total = AuditEvent.objects.filter(workspace=workspace).count()
    client = logged_in(owner)
    first = client.get(AUDIT_LOG)
    assert len(first.context["events"]) == 50
    assert first.context["paginator"].count == total
    assert "Page 1 of 2" in first.content.decode()
    second = client.get(AUDIT_LOG, {"page": 2})
    assert len(second.context["events"]) == total - 50
    assert client.get(AUDIT_LOG, {"page": 9}).status_code == 404


def test_audit_log_shows_only_this_workspace(owner, workspace):
    factories.make_key(factories.make_workspace(), name="Elsewhere key")
    html = logged_in(owner).get(AUDIT_LOG).content.decode()
    assert "Elsewhere key" not in html
