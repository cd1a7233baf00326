"""``/widget/demo/``: which assistant it shows, what it shows of it, and who may frame it (SPEC §5, §10)."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Workspace
from tests import factories

pytestmark = pytest.mark.django_db

FAQ = (("What are your opening hours?", "Monday to Friday."), ("How do I get a refund?", "Within 30 days."))


@pytest.fixture
def demo_workspace() -> Workspace:
    workspace = factories.make_workspace(name="Demo Co")
    workspace.slug = "demo"
    workspace.save(update_fields=["slug"])
    return workspace


def demo(query: str = ""):
    return Client().get(f"/widget/demo/{query}")


def test_the_demo_workspace_first_widget_assistant(demo_workspace):
    factories.make_assistant(demo_workspace, name="Internal", widget_enabled=False)
    shown = factories.make_assistant(demo_workspace, name="Help center", widget_enabled=True, faq=FAQ)
    factories.make_assistant(demo_workspace, name="A later one", widget_enabled=True)

    response = demo()

    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-assistant="{shown.public_id}"' in html
    assert 'src="/static/widget/parley-widget.js"' in html
    assert "What are your opening hours?" in html
    # The snippet to copy names the script by its absolute URL, escaped.
    assert (
        f"&lt;script src=&quot;http://testserver/static/widget/parley-widget.js&quot; "
        f"data-assistant=&quot;{shown.public_id}&quot; async&gt;&lt;/script&gt;"
    ) in html


def test_any_widget_assistant_by_id(demo_workspace):
    other = factories.make_assistant(factories.make_workspace(), name="Shop help", widget_enabled=True)
    response = demo(f"?assistant={other.public_id}")
    assert response.status_code == 200
    assert f'data-assistant="{other.public_id}"' in response.content.decode()


@pytest.mark.parametrize("case", ["widget off", "unknown id", "workspace suspended", "nul", "too long"])
def test_no_widget_is_a_404_saying_so(demo_workspace, case):
    assistant = factories.make_assistant(demo_workspace, widget_enabled=case != "widget off")
    if case == "workspace suspended":
        Workspace.objects.filter(pk=demo_workspace.pk).update(status=Workspace.Status.SUSPENDED)
    odd = {"unknown id": "ast_doesnotexist", "nul": "ast_%00", "too long": "ast_" + "x" * 40}
    query = f"?assistant={odd[case]}" if case in odd else f"?assistant={assistant.public_id}"
    response = demo(query)
    assert response.status_code == 404
    assert "with its widget turned on" in response.content.decode()


def test_no_demo_workspace_is_a_404_saying_so(db):
    response = demo()
    assert response.status_code == 404
    assert "seed_demo" in response.content.decode()


def test_framable_by_the_assistant_origins_only(demo_workspace):
    factories.make_assistant(
        demo_workspace,
        widget_enabled=True,
        allowed_origins=["https://shop.example.com", "https://*.example.org"],
    )
    response = demo()
    assert "X-Frame-Options" not in response
    policy = response["Content-Security-Policy"]
    assert "frame-ancestors https://shop.example.com https://*.example.org" in policy
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    # This page's own origin is not on the list: the page says what the widget will show.
    assert "do not include" in response.content.decode()


def test_no_allowed_origins_means_any_site_may_frame_it(demo_workspace):
    factories.make_assistant(demo_workspace, widget_enabled=True)
    response = demo()
    assert "X-Frame-Options" not in response
    assert "frame-ancestors *" in response["Content-Security-Policy"]


def test_other_pages_still_deny_framing(demo_workspace):
    response = Client().get("/accounts/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_what_the_page_shows_is_escaped(demo_workspace):
    factories.make_assistant(
        demo_workspace,
        name="<img src=x onerror=alert(1)>",
        widget_enabled=True,
        greeting="<script>alert(2)</script>",
        faq=(("<b>bold?</b>", "answer"),),
    )
    html = demo().content.decode()
    for raw in ("<img src=x", "<script>alert", "<b>bold"):
        assert raw not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
