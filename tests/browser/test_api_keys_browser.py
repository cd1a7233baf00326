"""Settings → API Keys in a real browser, against the live test server (SPEC §6).

Log in through the real form, create a key by clicking scope boxes, copy it, use it
on ``/api/v1/me`` over HTTP, check it is gone after a reload, revoke it through the
confirmation page, and see the API refuse it. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.actors import Actor
from accounts.models import Plan, Role
from apikeys.models import ApiKey
from apikeys.services import api_key_revoke
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PLAIN_KEY = re.compile(r"wsk_live_[0-9A-Za-z]{38}")


def seed_other_keys(workspace, owner) -> None:
    """A lived-in workspace, so the list page shows every kind of row."""
    billing, _ = factories.make_key(
        workspace,
        name="Billing sync",
        scopes=["contacts:read", "contacts:write", "tickets:read"],
        allowed_ips=["203.0.113.7", "10.0.0.0/8"],
        rate_limit="500/h",
        expires_at=timezone.now() + timedelta(days=60),
    )
    ApiKey.objects.filter(pk=billing.pk).update(
        last_used_at=timezone.now() - timedelta(minutes=42), last_used_ip="198.51.100.24"
    )
    factories.make_key(
        workspace,
        name="Website widget",
        kind=ApiKey.Kind.PUBLISHABLE,
        allowed_origins=["https://shop.example.com", "https://*.example.com"],
    )
    old, _ = factories.make_key(workspace, name="Old Zapier key", scopes=["events:read"])
    api_key_revoke(key=old, actor=Actor.for_user(owner))


def api_me(live_server, key: str) -> requests.Response:
    return requests.get(f"{live_server.url}/api/v1/me", headers={"Authorization": f"Bearer {key}"}, timeout=10)


def test_create_use_and_revoke_a_key(live_server, page: Page, artifacts):
    workspace = factories.make_workspace(plan=Plan.PRO, name="Acme Support")
    owner = factories.owner_of(workspace)
    factories.add_member(workspace, Role.ADMIN)
    seed_other_keys(workspace, owner)
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if "/static/" in r.url and r.status >= 400 else None,
    )

    # Log in through the real form.
    page.goto(f"{live_server.url}/accounts/login/")
    page.screenshot(path=artifacts / "login.png", full_page=True)
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Acme Support")).to_be_visible()

    # Settings → API Keys.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="API keys").click()
    expect(page).to_have_url(f"{live_server.url}/settings/api-keys/")
    expect(page.get_by_role("heading", name="API keys", exact=True)).to_be_visible()
    # Our stylesheet and script load (static files under the live server, CSP allows them).
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(246, 247, 249)"
    expect(page.get_by_role("link", name="Billing sync", exact=True)).to_be_visible()
    page.screenshot(path=artifacts / "api-keys-list.png", full_page=True)

    # The create form: presets work client-side without a page load.
    page.get_by_role("link", name="Create API key").first.click()
    expect(page.get_by_role("heading", name="Create an API key")).to_be_visible()
    form_url = page.url
    page.get_by_role("button", name="Read & write").click()
    expect(page.locator("input[name=scopes]:checked")).to_have_count(8)
    page.get_by_role("button", name="Read only").click()
    expect(page.locator("input[name=scopes]:checked")).to_have_count(5)
    expect(page.locator("[data-preset-status]")).to_have_text("Read only preset applied.")
    assert page.url == form_url

    # A fresh form: name, then exactly two scopes by clicking their boxes.
    page.goto(form_url)
    page.get_by_label("Name").fill("Browser test key")
    page.locator("#scope-contacts-read").click()
    page.locator("#scope-tickets-write").click()
    expect(page.locator("input[name=scopes]:checked")).to_have_count(2)
    page.screenshot(path=artifacts / "api-keys-create.png", full_page=True)
    page.get_by_role("button", name="Create key").click()

    # Shown once: read it from the read-only field, copy it, compare with the clipboard.
    expect(page.get_by_role("heading", name="Your API key is ready")).to_be_visible()
    field = page.locator("#new-key")
    expect(field).to_have_attribute("readonly", "")
    plain = field.input_value()
    assert PLAIN_KEY.fullmatch(plain)
    expect(page.get_by_text("it will not be shown again")).to_be_visible()
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("[data-copy-status]")).to_have_text("Copied to clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == plain
    page.screenshot(path=artifacts / "api-keys-shown-once.png", full_page=True)

    # The key works against the live server.
    response = api_me(live_server, plain)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["key"]["name"] == "Browser test key"
    assert body["key"]["scopes"] == ["contacts:read", "tickets:write"]
    assert body["workspace"]["name"] == "Acme Support"
    hint = body["key"]["hint"]

    # Reloading (which resubmits the form) shows the key no more and makes no second one.
    page.reload()
    expect(page.get_by_text("That form was already submitted.")).to_be_visible()
    assert plain not in page.content()
    page.goto(f"{live_server.url}/settings/api-keys/")
    assert plain not in page.content()
    expect(page.get_by_text(hint)).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", name="Your API key is ready")).to_have_count(0)
    assert plain not in page.content()
    assert ApiKey.objects.filter(name="Browser test key").count() == 1

    # Revoke through the confirmation page.
    page.goto(f"{live_server.url}/settings/api-keys/")
    page.get_by_role("link", name="Browser test key", exact=True).click()
    expect(page.get_by_role("heading", name="Browser test key")).to_be_visible()
    page.get_by_role("link", name="Revoke key…").click()
    expect(page.get_by_role("heading", name="Revoke “Browser test key”?")).to_be_visible()
    page.get_by_role("button", name="Revoke key").click()
    expect(page.get_by_text("is revoked")).to_be_visible()
    retired = page.locator("section", has=page.get_by_role("heading", name=re.compile("Revoked and expired")))
    expect(retired.get_by_role("link", name="Browser test key")).to_be_visible()

    # The API refuses it from the very next request.
    response = api_me(live_server, plain)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_revoked"

    # Narrow screens: the tables stack.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.screenshot(path=artifacts / "api-keys-list-narrow.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert problems == []
