"""The embeddable widget (static/widget/parley-widget.js) in Chromium, against the live API.

The API runs on ``http://127.0.0.1:P2`` (pytest-django's live server) and the page that
embeds the script on another origin, ``http://localhost:P1`` (a small ``http.server``),
so CORS is exercised for real; that page sends a strict CSP of its own (no inline
script or style), as Parley's pages do. Screenshots land in ``test-artifacts/``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
import requests
from playwright.sync_api import Page, expect

from accounts.actors import Actor
from apikeys.models import ApiKey
from assistants.models import Assistant, Conversation
from assistants.responders import FOLLOW_UP_REPLY
from assistants.services import assistant_identity_secret_rotate, assistant_update
from tests import factories
from tests.browser.test_settings_pages_browser import watch
from widget.models import Feedback, VisitorSession

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FAQ = (
    ("What are your opening hours?", "Monday to Friday, 9:00 to 17:00 (CET)."),
    ("How do I get a refund?", "Reply to your order email within 30 days of delivery."),
    ("How long does shipping take?", "2–4 working days in the EU, 5–10 elsewhere."),
)
REFUSED = "This chat isn't enabled for this website."
RATE_LIMITED = re.compile(r"You're sending messages too fast — try again in \d+ seconds?\.")
OFFLINE = "Can't reach the chat right now. Check your connection and try again."

PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme Store</title><link rel="stylesheet" href="/site.css"></head>
<body>
  <h1>Acme Store</h1>
  <p>Our shop, with Parley's chat widget embedded.</p>
  <script src="{api}/static/widget/parley-widget.js" data-assistant="{assistant}" {extra} async></script>
</body>
</html>
"""
# The host page's own styles: hostile on purpose, they must not reach into the widget.
SITE_CSS = b"""
* { font-family: "Comic Sans MS", cursive !important; letter-spacing: 0.2em; }
body { margin: 40px; background: #fdf6e3; color: #b58900; line-height: 3; }
button { background: red !important; border: 5px dashed lime !important; }
ol, li { list-style: upper-roman; }
"""


@dataclass
class Site:
    """A customer's website on its own origin, embedding the widget from the API origin."""

    origin: str
    api: str
    assistant: str = ""
    extra: str = ""

    @property
    def url(self) -> str:
        return f"{self.origin}/shop/"


@contextmanager
def serve_site(api: str) -> Iterator[Site]:
    site = Site(origin="", api=api)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/site.css":
                body, kind = SITE_CSS, "text/css"
            else:
                html = PAGE.format(api=site.api, assistant=site.assistant, extra=site.extra)
                body, kind = html.encode(), "text/html; charset=utf-8"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header(
                "Content-Security-Policy",
                f"default-src 'self'; script-src 'self' {site.api}; connect-src {site.api}; style-src 'self'",
            )
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.origin = f"http://localhost:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def api(live_server) -> str:
    """The API's origin as the script's src names it: 127.0.0.1, not the page's localhost."""
    return live_server.url.replace("//localhost:", "//127.0.0.1:")


@pytest.fixture
def site(api) -> Iterator[Site]:
    with serve_site(api) as served:
        yield served


def widget_assistant(site: Site, **fields) -> Assistant:
    workspace = factories.make_workspace(name="Acme Store")
    fields = {
        "name": "Acme Help",
        "widget_enabled": True,
        "allowed_origins": [site.origin],
        "greeting": "Hi! Ask me about opening hours, refunds or shipping.",
        "theme": {"color": "#0b7285"},
        "lead_capture": True,
        "faq": FAQ,
        **fields,
    }
    assistant = factories.make_assistant(workspace, **fields)
    site.assistant = assistant.public_id
    return assistant


def warnings(page: Page) -> list[str]:
    found: list[str] = []
    page.on("console", lambda msg: found.append(msg.text) if msg.type == "warning" else None)
    return found


def ask(page: Page, text: str) -> None:
    box = page.get_by_label("Message Acme Help")
    box.fill(text)
    box.press("Enter")


def log(page: Page):
    return page.get_by_role("log")


def test_chat_history_feedback_and_lead_across_origins(site, live_server, page: Page, context, artifacts):
    assistant = widget_assistant(site)
    _key, plain = factories.make_key(assistant.workspace, scopes=["contacts:read"])
    problems = watch(page)
    page.goto(site.url)

    # Keyboard: the launcher is a button; Enter opens the dialog and focus moves into it.
    launcher = page.get_by_role("button", name="Open chat with Acme Help")
    launcher.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Chat with Acme Help")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("aria-modal", "true")
    box = page.get_by_label("Message Acme Help")
    expect(box).to_be_focused()
    expect(log(page)).to_have_attribute("aria-live", "polite")
    expect(log(page)).to_contain_text("Hi! Ask me about opening hours, refunds or shipping.")
    # Tab cycles inside the dialog; Escape closes it and gives focus back to the launcher.
    for _ in range(8):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.tagName") == "PARLEY-WIDGET"
        assert page.evaluate("document.activeElement.shadowRoot.activeElement.closest('[role=dialog]') !== null")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Open chat with Acme Help")).to_be_focused()
    page.get_by_role("button", name="Open chat with Acme Help").click()
    expect(box).to_be_focused()

    # A question the FAQ answers; the answer can be rated.
    ask(page, "What are your opening hours?")
    expect(log(page)).to_contain_text("Monday to Friday, 9:00 to 17:00 (CET).")
    ask(page, "how long does shipping take to france")
    expect(log(page)).to_contain_text("2–4 working days in the EU")
    page.get_by_role("button", name="Helpful").first.click()
    expect(page.get_by_text("Thanks for the feedback").first).to_be_visible()
    assert Feedback.objects.get(conversation__assistant=assistant).rating == "up"
    page.mouse.move(0, 0)
    dialog.screenshot(path=artifacts / "widget-panel.png")
    page.screenshot(path=artifacts / "widget-page.png")

    # The host page's hostile CSS does not reach into the shadow root, and the theme colour applies.
    send = page.get_by_role("button", name="Send message")
    assert send.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(11, 114, 133)"
    assert "Comic Sans" not in box.evaluate("t => getComputedStyle(t).fontFamily")

    # The token lives in sessionStorage (never a cookie, never localStorage): a reload shows the history.
    stored = page.evaluate(f"sessionStorage.getItem('parley:{assistant.public_id}')")
    assert '"token":"wst_' in stored
    assert page.evaluate("localStorage.length") == 0
    page.reload()
    page.get_by_role("button", name="Open chat with Acme Help").click()
    expect(log(page)).to_contain_text("What are your opening hours?")
    expect(log(page)).to_contain_text("Monday to Friday, 9:00 to 17:00 (CET).")
    expect(log(page)).to_contain_text("2–4 working days in the EU")
    expect(page.get_by_role("button", name="Helpful").first).to_have_attribute("aria-pressed", "true")
    assert context.cookies() == []

    # A question it cannot answer offers a follow-up: the lead form appears; an email becomes a contact.
    ask(page, "Can I speak to a person about my invoice?")
    expect(log(page)).to_contain_text(FOLLOW_UP_REPLY)
    lead = page.get_by_role("form", name="Leave your contact details")
    expect(lead).to_be_visible()
    lead.get_by_role("button", name="Send").click()
    expect(lead.get_by_text("Please enter an email address or a phone number.")).to_be_visible()
    page.get_by_role("dialog").screenshot(path=artifacts / "widget-lead-form.png")
    lead.get_by_label("Name (optional)").fill("Ada Lovelace")
    lead.get_by_label("Email").fill("ada@example.com")
    lead.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Thanks, Ada Lovelace! We'll get back to you at ada@example.com.")).to_be_visible()
    page.screenshot(path=artifacts / "widget-lead.png")

    response = requests.get(
        f"{live_server.url}/api/v1/contacts", headers={"Authorization": f"Bearer {plain}"}, timeout=10
    )
    assert response.status_code == 200
    contacts = [c for c in response.json()["results"] if c["email"] == "ada@example.com"]
    assert len(contacts) == 1
    assert contacts[0]["source"] == "widget"
    assert contacts[0]["name"] == "Ada Lovelace"
    assert problems == []


def test_the_first_faq_questions_are_suggested_until_the_visitor_asks(site, page: Page, artifacts):
    assistant = widget_assistant(site, faq=(*FAQ, ("Do you ship abroad?", "Yes, to 40 countries.")))
    problems = watch(page)
    asked = []
    page.on("request", lambda r: asked.append(r) if r.url.endswith("/qnas") else None)
    page.goto(site.url)
    page.get_by_role("button", name="Open chat with Acme Help").click()
    suggestions = page.get_by_role("group", name="Suggested questions")
    chips = suggestions.get_by_role("button")
    expect(chips).to_have_text([question for question, _answer in FAQ])  # the first three, in order
    expect(page.get_by_label("Message Acme Help")).to_be_focused()
    page.mouse.move(0, 0)
    page.get_by_role("dialog").screenshot(path=artifacts / "widget-suggestions.png")

    # A suggestion is sent as the visitor's message: the answer comes from /chat and is stored.
    chips.nth(1).click()
    expect(log(page).locator(".user")).to_have_text(["You:How do I get a refund?"])
    expect(log(page)).to_contain_text("Reply to your order email within 30 days of delivery.")
    expect(suggestions).to_have_count(0)
    expect(page.get_by_label("Message Acme Help")).to_be_focused()
    conversation = Conversation.objects.get(assistant=assistant)
    assert list(conversation.messages.values_list("role", "body")) == [
        ("user", "How do I get a refund?"),
        ("assistant", FAQ[1][1]),
    ]
    # One simple GET: no If-None-Match from the page (a header that is not CORS-safelisted).
    assert [(r.method, "if-none-match" in r.headers) for r in asked] == [("GET", False)]

    # After a reload the conversation has the visitor's message: no suggestions, not even asked for.
    page.reload()
    page.get_by_role("button", name="Open chat with Acme Help").click()
    expect(log(page)).to_contain_text("Reply to your order email within 30 days of delivery.")
    expect(suggestions).to_have_count(0)
    assert len(asked) == 1
    assert problems == []


def test_suggestions_answer_to_the_keyboard_go_when_typing_and_a_failed_faq_shows_none(site, page: Page):
    widget_assistant(site)
    page.goto(site.url)
    page.get_by_role("button", name="Open chat with Acme Help").click()
    suggestions = page.get_by_role("group", name="Suggested questions")
    suggestions.get_by_role("button", name=FAQ[2][0]).focus()
    page.keyboard.press("Space")
    expect(log(page)).to_contain_text("2–4 working days in the EU")
    expect(suggestions).to_have_count(0)

    # A new visitor who types a question instead: the suggestions go too.
    page.evaluate("sessionStorage.clear()")
    page.reload()
    page.get_by_role("button", name="Open chat with Acme Help").click()
    expect(suggestions.get_by_role("button")).to_have_count(3)
    ask(page, "How do I get a refund?")
    expect(suggestions).to_have_count(0)
    expect(log(page)).to_contain_text("Reply to your order email within 30 days of delivery.")

    # A new visitor whose FAQ request fails sees the greeting, no suggestions and no error.
    page.evaluate("sessionStorage.clear()")
    page.route(re.compile(r".*/api/widget/[^/]+/qnas$"), lambda route: route.abort("internetdisconnected"))
    page.reload()
    with page.expect_event("requestfailed", lambda r: r.url.endswith("/qnas")):
        page.get_by_role("button", name="Open chat with Acme Help").click()
    expect(log(page)).to_contain_text("Hi! Ask me about opening hours, refunds or shipping.")
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(suggestions).to_have_count(0)


def test_an_origin_the_assistant_does_not_allow_is_told_so(site, page: Page, artifacts):
    widget_assistant(site, allowed_origins=["https://shop.example.com"])
    problems = watch(page)
    warned = warnings(page)
    page.goto(site.url)
    page.get_by_role("button", name="Open chat").click()
    expect(page.get_by_text(REFUSED)).to_be_visible()
    expect(page.get_by_label("Message Acme Help")).to_have_count(0)
    expect(page.get_by_role("button", name="Close chat").first).to_be_focused()
    page.get_by_role("dialog").screenshot(path=artifacts / "widget-refused.png")
    assert any(site.origin in w and "allowed origins" in w for w in warned), warned
    # The config's 403 is the only refused request: the widget asks nothing more.
    assert [p for p in problems if "/config" not in p and "status of 403" not in p] == []


def test_rate_limit_message_then_sending_again(site, page: Page, settings, artifacts):
    widget_assistant(site)
    settings.WIDGET_RATE_LIMITS = {**settings.WIDGET_RATE_LIMITS, "chat": "1/m"}
    page.goto(site.url)
    page.get_by_role("button", name="Open chat with Acme Help").click()
    ask(page, "How do I get a refund?")
    expect(log(page)).to_contain_text("Reply to your order email within 30 days of delivery.")
    ask(page, "And shipping?")
    expect(page.get_by_role("alert")).to_have_text(RATE_LIMITED)
    # The refused text is back in the box, and sending waits until the limit resets.
    expect(page.get_by_label("Message Acme Help")).to_have_value("And shipping?")
    expect(page.get_by_role("button", name="Send message")).to_be_disabled()
    expect(log(page)).not_to_contain_text("And shipping?")
    page.get_by_role("dialog").screenshot(path=artifacts / "widget-rate-limited.png")


def test_a_network_failure_offers_retry(site, page: Page, artifacts):
    widget_assistant(site)
    failures = {"left": 1}

    def flaky(route):
        if failures["left"]:
            failures["left"] -= 1
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route(re.compile(r".*/api/widget/[^/]+/chat$"), flaky)
    page.goto(site.url)
    page.get_by_role("button", name="Open chat with Acme Help").click()
    ask(page, "How do I get a refund?")
    expect(page.get_by_role("alert")).to_contain_text(OFFLINE)
    expect(log(page).get_by_text("Not sent")).to_be_visible()
    page.get_by_role("dialog").screenshot(path=artifacts / "widget-offline.png")
    page.get_by_role("button", name="Retry").click()
    expect(log(page)).to_contain_text("Reply to your order email within 30 days of delivery.")
    expect(log(page).get_by_text("Not sent")).to_have_count(0)
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(log(page).get_by_text("How do I get a refund?")).to_have_count(1)


def test_an_expired_token_starts_a_new_session(site, page: Page):
    widget_assistant(site)
    page.goto(site.url)
    page.get_by_role("button", name="Open chat with Acme Help").click()
    ask(page, "How do I get a refund?")
    expect(log(page)).to_contain_text("Reply to your order email")
    # The server forgets every session (as after 30 idle minutes): the next message still goes through.
    VisitorSession.objects.all().delete()
    ask(page, "How long does shipping take?")
    expect(log(page)).to_contain_text("2–4 working days in the EU")
    assert VisitorSession.objects.count() == 1


def test_a_publishable_key_from_data_key(site, page: Page):
    assistant = widget_assistant(site)
    _key, plain = factories.make_key(assistant.workspace, kind=ApiKey.Kind.PUBLISHABLE)
    site.extra = f'data-key="{plain}"'
    problems = watch(page)
    page.goto(site.url)
    page.get_by_role("button", name="Open chat with Acme Help").click()
    ask(page, "How do I get a refund?")
    expect(log(page)).to_contain_text("Reply to your order email")
    assert problems == []


def test_the_demo_page(live_server, page: Page, artifacts):
    workspace = factories.make_workspace(name="Demo Co")
    workspace.slug = "demo"
    workspace.save(update_fields=["slug"])
    factories.make_assistant(
        workspace,
        name="Help center",
        visibility="public",
        widget_enabled=True,
        greeting="Hi! Ask me about our opening hours, refunds or shipping.",
        faq=FAQ,
    )
    problems = watch(page)
    response = page.goto(f"{live_server.url}/widget/demo/")
    assert response is not None
    assert response.status == 200
    headers = response.headers
    assert "x-frame-options" not in headers
    assert "frame-ancestors *" in headers["content-security-policy"]
    assert "style-src 'self'" in headers["content-security-policy"]
    expect(page.get_by_role("heading", name="Help center")).to_be_visible()
    expect(page.locator(".demo-snippet")).to_contain_text('data-assistant="ast_')

    page.get_by_role("button", name="Open chat with Help center").click()
    box = page.get_by_label("Message Help center")
    box.fill("How do I get a refund?")
    box.press("Enter")
    expect(log(page)).to_contain_text("Reply to your order email within 30 days of delivery.")
    page.mouse.move(0, 0)  # off the launcher: no hover transition in the picture
    page.screenshot(path=artifacts / "widget-demo.png")
    assert problems == []  # no CSP violation: the constructed stylesheet passes style-src 'self'


def verified_assistant(site: Site) -> tuple[Assistant, str]:
    """An assistant that requires identity verification, and its identity secret."""
    assistant = widget_assistant(site)
    actor = Actor.for_user(factories.owner_of(assistant.workspace))
    secret = assistant_identity_secret_rotate(assistant=assistant, actor=actor)
    assistant_update(assistant=assistant, actor=actor, identity_verification="required")
    return assistant, secret


def user_token(secret: str, user_id: str) -> str:
    """What docs/examples/widget_identity.py makes on the customer's server."""
    return jwt.encode({"sub": user_id, "exp": int(time.time()) + 600}, secret, algorithm="HS256")


def test_a_verified_visitor_finds_the_conversation_on_another_device(site, page: Page, browser):
    _assistant, secret = verified_assistant(site)
    site.extra = f'data-user-token="{user_token(secret, "customer-7")}"'
    page.goto(site.url)
    page.get_by_role("button", name="Open chat with Acme Help").click()
    ask(page, "How do I get a refund?")
    expect(log(page)).to_contain_text("Reply to your order email")

    # Another browser (no sessionStorage), a fresh token for the same user: the same conversation.
    site.extra = f'data-user-token="{user_token(secret, "customer-7")}"'
    other = browser.new_context()
    try:
        elsewhere = other.new_page()
        elsewhere.goto(site.url)
        elsewhere.get_by_role("button", name="Open chat with Acme Help").click()
        expect(log(elsewhere)).to_contain_text("How do I get a refund?")
        expect(log(elsewhere)).to_contain_text("Reply to your order email")
    finally:
        other.close()


def test_identity_required_without_one_asks_to_sign_in(site, page: Page):
    verified_assistant(site)
    warned = warnings(page)
    page.goto(site.url)
    page.get_by_role("button", name="Open chat with Acme Help").click()
    expect(page.get_by_text("Please sign in to chat with us.")).to_be_visible()
    expect(page.get_by_label("Message Acme Help")).to_be_hidden()
    assert any("identity verification is required" in w for w in warned), warned


def test_a_wrong_user_hash_is_refused_clearly(site, page: Page):
    verified_assistant(site)
    site.extra = 'data-user-id="customer-7" data-user-hash="00"'
    page.goto(site.url)
    page.get_by_role("button", name="Open chat with Acme Help").click()
    expect(page.get_by_text("We couldn't verify who you are.")).to_be_visible()


def test_an_agent_reply_arrives_while_the_panel_is_open(site, live_server, page: Page, artifacts):
    assistant = widget_assistant(site)
    _key, plain = factories.make_key(assistant.workspace, scopes=["chat:write"])
    page.clock.install()
    page.goto(site.url)
    page.get_by_role("button", name="Open chat with Acme Help").click()
    ask(page, "Can I speak to a person about my invoice?")
    expect(log(page)).to_contain_text(FOLLOW_UP_REPLY)
    conversation = Conversation.objects.get(assistant=assistant)
    answered = requests.post(
        f"{live_server.url}/api/v1/conversations/{conversation.public_id}/messages",
        json={"body": "Hi, this is Sam from billing: your invoice is on its way."},
        headers={"Authorization": f"Bearer {plain}"},
        timeout=10,
    )
    assert answered.status_code == 201, answered.text
    page.clock.run_for(11_000)  # the widget looks at the history every 10 seconds while open
    agent = log(page).get_by_role("listitem").filter(has_text="Sam from billing")
    expect(agent).to_contain_text("Support team")
    expect(log(page).get_by_text("Can I speak to a person about my invoice?")).to_have_count(1)
    page.get_by_role("dialog").screenshot(path=artifacts / "widget-agent.png")


def test_small_screens_get_the_whole_viewport(site, browser, artifacts):
    widget_assistant(site)
    phone = browser.new_context(viewport={"width": 390, "height": 760}, is_mobile=True, has_touch=True)
    try:
        page = phone.new_page()
        page.goto(site.url)
        page.get_by_role("button", name="Open chat with Acme Help").tap()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_be_visible()
        assert dialog.bounding_box() == {"x": 0, "y": 0, "width": 390, "height": 760}
        page.get_by_role("button", name="Close chat").tap()
        expect(dialog).to_be_hidden()
        page.get_by_role("button", name="Open chat with Acme Help").tap()
        ask(page, "How long does shipping take?")
        expect(log(page)).to_contain_text("2–4 working days in the EU")
        page.screenshot(path=artifacts / "widget-mobile.png")
    finally:
        phone.close()
