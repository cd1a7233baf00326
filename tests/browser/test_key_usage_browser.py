"""A key's usage in a real browser: the 30-day chart is drawn, readable and CSP-clean; the filter and the
sparklines work without JavaScript. Screenshots go to ``test-artifacts/`` for a human to look at."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Plan
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def seed_traffic(key) -> None:
    """Four weeks of weekday traffic with a few errors, some requests and two networks."""
    now = timezone.now()
    today = now.date()
    for back in range(28):
        day = today - timedelta(days=back)
        if day.weekday() < 5:
            factories.make_daily_usage(key, day, successes=120 + 7 * (back % 6), errors=back % 4)
    for n, (method, path, status, code) in enumerate(
        [
            ("GET", "/api/v1/contacts?limit", 200, ""),
            ("POST", "/api/v1/contacts", 201, ""),
            ("GET", "/api/v1/contacts/ct_missing", 404, "not_found"),
            ("POST", "/api/v1/tickets", 403, "missing_scope"),
            ("GET", "/api/v1/tickets", 500, "internal_error"),
        ]
    ):
        factories.make_request_log(
            key,
            created_at=now - timedelta(minutes=n * 7),
            method=method,
            path=path,
            status=status,
            error_code=code,
            ip="198.51.100.24",
            duration_ms=18.0 + n * 9,
        )
    factories.make_key_network(
        key, "198.51.100.0/24", first_seen=now - timedelta(days=27), last_seen=now - timedelta(minutes=1), requests=3150
    )
    factories.make_key_network(
        key, "2001:db8:42::/48", first_seen=now - timedelta(days=3), last_seen=now - timedelta(days=2), requests=12
    )


def test_the_key_page_shows_its_usage(live_server, page: Page, artifacts):
    workspace = factories.make_workspace(plan=Plan.PRO, name="Acme Support")
    owner = factories.owner_of(workspace)
    key, _ = factories.make_key(workspace, name="Zapier production", scopes=["contacts:read", "tickets:read"])
    factories.make_key(workspace, name="Billing sync")  # no traffic: a flat sparkline
    seed_traffic(key)
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    # The list: a sparkline per active key, labelled for screen readers.
    page.goto(f"{live_server.url}/settings/api-keys/")
    busy = page.get_by_role("img", name="requests in the last 7 days").first
    expect(busy).to_be_visible()
    expect(page.get_by_role("img", name="0 requests in the last 7 days", exact=True)).to_be_visible()
    box = busy.bounding_box()
    assert box is not None
    assert box["width"] > 40
    assert box["height"] > 10
    page.screenshot(path=artifacts / "key-list-sparklines.png", full_page=True)

    # The key's page: the chart, its summary, the log and the networks.
    page.get_by_role("link", name="Zapier production", exact=True).click()
    chart = page.get_by_role("img", name="Requests per day, last 30 days (UTC)")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] > 400
    assert box["height"] > 100
    summary = page.locator("#usage-chart-summary")
    expect(summary).to_have_text(
        re.compile(r"^[\d,]+ requests in the last 30 days, \d+ errors \(\d+\.\d %\); busiest day \d+ \w{3}: [\d,]+$")
    )
    bars = page.locator(".usage-chart rect.bar-ok")
    expect(bars).to_have_count(30)
    heights = [(bars.nth(i).bounding_box() or {"height": 0.0})["height"] for i in range(30)]
    assert max(heights) > 50  # the busiest day reaches well up the chart
    assert heights.count(0) >= 8  # weekends: zero bars
    requests = page.get_by_role("table", name="Recent requests made with Zapier production")
    expect(requests.get_by_role("row")).to_have_count(6)  # the header and five requests
    expect(page.get_by_role("table", name="Networks Zapier production was used from")).to_contain_text(
        "198.51.100.0/24"
    )
    page.screenshot(path=artifacts / "key-usage.png", full_page=True)
    chart.screenshot(path=artifacts / "key-usage-chart.png")

    # On a phone the chart shrinks to the screen and its labels stay inside it.
    page.set_viewport_size({"width": 390, "height": 844})
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] < 390
    chart.screenshot(path=artifacts / "key-usage-chart-phone.png")
    page.set_viewport_size({"width": 1280, "height": 860})

    # The data table opens without script.
    page.get_by_text("Requests per day as a table").click()
    expect(page.get_by_role("table", name="Requests per UTC day, last 30 days")).to_be_visible()

    # The filter is a plain link.
    page.get_by_role("navigation", name="Filter requests by status").get_by_role("link", name="5xx").click()
    expect(page).to_have_url(f"{live_server.url}/settings/api-keys/{key.pk}/?status=5xx#requests")
    expect(requests.get_by_role("row")).to_have_count(2)
    expect(requests).to_contain_text("internal_error")
    page.screenshot(path=artifacts / "key-usage-5xx.png", full_page=True)

    assert problems == []
