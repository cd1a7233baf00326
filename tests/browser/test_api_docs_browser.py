"""The API docs page (/api/v1/docs/) in Chromium: Swagger UI renders every operation of the
document under the project's CSP (script-src 'self', no inline script or style), with no
CSP violation, script error or failed request, and nothing fetched from another origin."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_settings_pages_browser import watch
from tests.openapi.conftest import served_document

pytestmark = [pytest.mark.browser, pytest.mark.openapi, pytest.mark.django_db(transaction=True)]


def test_the_docs_render_every_operation_under_the_csp(live_server, page: Page, artifacts):
    problems = watch(page)
    origins: set[str] = set()
    page.on("request", lambda request: origins.add(request.url.split("/", 3)[2]))
    operations = sum(len(item) for item in served_document()["paths"].values())

    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.locator(".opblock")).to_have_count(operations)
    expect(page.get_by_text("Parley API").first).to_be_visible()
    page.locator(".opblock-summary", has_text="/api/v1/contacts").first.click()
    opened = page.locator(".opblock.is-open")
    expect(opened.get_by_text("x-required-scope")).to_be_visible()
    expect(opened.locator(".response[data-code='403']")).to_be_visible()
    page.screenshot(path=artifacts / "api-docs.png", full_page=False)

    assert problems == []
    assert origins == {live_server.url.split("/", 3)[2]}
