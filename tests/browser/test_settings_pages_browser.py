"""Every other state of the settings pages in the browser: no CSP violation or script
error on any of them, presets and the publishable switch work client-side, and a
screenshot of each lands in ``test-artifacts/`` for a human to look at."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.actors import Actor
from accounts.models import AuditEvent, Plan, Role
from apikeys.models import ApiKey
from apikeys.services import api_key_revoke
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Page, live_server, user) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def watch(page: Page) -> list[str]:
    """Console errors (CSP violations included), script errors and failed static files."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return problems


def test_owner_pages(live_server, page: Page, artifacts):
    workspace = factories.make_workspace(plan=Plan.PRO, name="Acme Support")
    owner = factories.owner_of(workspace)
    key, _ = factories.make_key(
        workspace, name="Zapier production", scopes=["contacts:read", "tickets:write", "events:read"]
    )
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now(), last_used_ip="198.51.100.24")
    revoked, _ = factories.make_key(workspace, name="Legacy import")
    api_key_revoke(key=revoked, actor=Actor.for_user(owner, ip="203.0.113.9"))
    problems = watch(page)
    log_in(page, live_server, owner)
    page.screenshot(path=artifacts / "home.png", full_page=True)

    # Create form: the publishable switch disables the scopes, the preset re-enables secret.
    page.goto(f"{live_server.url}/settings/api-keys/new/")
    page.get_by_role("radio", name="Publishable key").click()
    expect(page.locator("#scope-contacts-read")).to_be_disabled()
    page.get_by_role("radio", name="Secret key").click()
    expect(page.locator("#scope-contacts-read")).to_be_enabled()
    # The date field shows only for "On a specific date".
    expect(page.get_by_label("Expiry date")).to_be_hidden()
    page.get_by_label("Expiry", exact=True).select_option("date")
    expect(page.get_by_label("Expiry date")).to_be_visible()

    # Inline errors, with what was typed kept.
    page.get_by_label("Expiry", exact=True).select_option("never")
    page.get_by_label("Name").fill("Broken")
    page.locator("#scope-contacts-read").check()
    page.get_by_label("Allowed IPs").fill("203.0.113.7\nnot-an-ip")
    page.get_by_label("Allowed origins").fill("ftp://files.example.com")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_text("The key was not created.")).to_be_visible()
    expect(page.get_by_label("Allowed IPs")).to_have_value("203.0.113.7\nnot-an-ip")
    expect(page.get_by_label("Name")).to_have_value("Broken")
    page.screenshot(path=artifacts / "api-keys-create-errors.png", full_page=True)
    problems[:] = [p for p in problems if "400" not in p]  # the form's own status is expected

    # Detail, roll confirmation, revoke confirmation, audit log.
    page.goto(f"{live_server.url}/settings/api-keys/{key.pk}/")
    expect(page.get_by_role("heading", name="Zapier production")).to_be_visible()
    page.screenshot(path=artifacts / "api-keys-detail.png", full_page=True)
    page.get_by_role("link", name="Roll key…").click()
    expect(page.get_by_role("heading", name="Roll “Zapier production”?")).to_be_visible()
    page.get_by_label("In 24 hours").check()
    page.screenshot(path=artifacts / "api-keys-roll-confirm.png", full_page=True)
    page.get_by_role("button", name="Roll key").click()
    expect(page.get_by_role("heading", name="Your new key is ready")).to_be_visible()
    expect(page.get_by_text("keeps working until")).to_be_visible()
    page.screenshot(path=artifacts / "api-keys-rolled.png", full_page=True)
    page.goto(f"{live_server.url}/settings/api-keys/{key.pk}/revoke/")
    page.screenshot(path=artifacts / "api-keys-revoke-confirm.png", full_page=True)
    page.goto(f"{live_server.url}/settings/audit-log/")
    expect(page.get_by_text("api_key.rolled")).to_be_visible()
    page.screenshot(path=artifacts / "audit-log.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/settings/api-keys/new/")
    page.screenshot(path=artifacts / "api-keys-create-narrow.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert problems == []


def test_free_plan_and_empty_state(live_server, page: Page, artifacts):
    workspace = factories.make_workspace(plan=Plan.FREE, name="Side project")
    owner = factories.owner_of(workspace)
    problems = watch(page)
    log_in(page, live_server, owner)
    page.goto(f"{live_server.url}/settings/api-keys/")
    expect(page.get_by_role("heading", name="No API keys yet")).to_be_visible()
    page.screenshot(path=artifacts / "api-keys-empty.png", full_page=True)
    page.get_by_role("link", name="Create API key").click()
    expect(page.get_by_text("Write scopes need the Pro plan or higher.")).to_be_visible()
    expect(page.locator("#scope-contacts-write")).to_be_disabled()
    page.get_by_role("button", name="Read & write").click()
    expect(page.locator("input[name=scopes]:checked")).to_have_count(5)
    page.screenshot(path=artifacts / "api-keys-create-free.png", full_page=True)
    assert problems == []


def test_members_see_who_can_help(live_server, page: Page, artifacts):
    workspace = factories.make_workspace(plan=Plan.PRO, name="Acme Support")
    factories.add_member(workspace, Role.ADMIN)
    member = factories.add_member(workspace, Role.MEMBER)
    problems = watch(page)
    log_in(page, live_server, member)
    response = page.goto(f"{live_server.url}/settings/api-keys/")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_text("Only workspace owners and admins can manage API keys.")).to_be_visible()
    page.screenshot(path=artifacts / "api-keys-403.png", full_page=True)
    assert [p for p in problems if "403" not in p] == []  # the page's own status is expected
    assert AuditEvent.objects.filter(action__startswith="api_key.").count() == 0


def test_signup_page(live_server, page: Page, artifacts):
    problems = watch(page)
    page.goto(f"{live_server.url}/accounts/signup/")
    expect(page.get_by_role("button", name="Sign Up")).to_be_visible()
    page.screenshot(path=artifacts / "signup.png", full_page=True)
    assert problems == []


def test_everything_but_copy_works_without_javascript(live_server, new_context, artifacts):
    workspace = factories.make_workspace(plan=Plan.PRO, name="Acme Support")
    owner = factories.owner_of(workspace)
    page = new_context(java_script_enabled=False).new_page()
    problems = watch(page)
    log_in(page, live_server, owner)

    # The preset is a server round trip that keeps what was typed.
    page.goto(f"{live_server.url}/settings/api-keys/new/")
    page.get_by_label("Name").fill("No-JS key")
    page.get_by_role("button", name="Read only").click()
    expect(page.get_by_text("Read only preset applied.")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("No-JS key")
    expect(page.locator("input[name=scopes]:checked")).to_have_count(5)
    page.get_by_label("Expiry", exact=True).select_option("90")
    page.get_by_role("button", name="Create key").click()

    # Shown once, without the Copy button (the one thing that needs a script).
    expect(page.get_by_role("heading", name="Your API key is ready")).to_be_visible()
    assert page.locator("#new-key").input_value().startswith("wsk_live_")
    expect(page.get_by_role("button", name="Copy")).to_be_hidden()
    key = ApiKey.objects.get(name="No-JS key")
    assert len(key.scopes) == 5
    assert key.expires_at is not None

    # Roll and revoke, each through its confirmation page.
    page.goto(f"{live_server.url}/settings/api-keys/{key.pk}/roll/")
    page.get_by_label("In 1 hour").check()
    page.get_by_role("button", name="Roll key").click()
    expect(page.get_by_role("heading", name="Your new key is ready")).to_be_visible()
    new = ApiKey.objects.get(rolled_from=key)
    page.goto(f"{live_server.url}/settings/api-keys/{new.pk}/revoke/")
    page.get_by_role("button", name="Revoke key").click()
    expect(page.get_by_text("is revoked")).to_be_visible()
    new.refresh_from_db()
    assert new.revoked_at is not None
    assert problems == []
