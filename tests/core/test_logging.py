"""No credential reaches a log line or an error report (SPEC §2, §10)."""

import io
import logging

import pytest

from apikeys.models import ApiKey
from core.logging import ExceptionReporterFilter, RedactSecretsFilter, redact
from tests import factories


@pytest.mark.parametrize(
    "text",
    [
        "GET /api/widget/1/config?key=wpk_live_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789ab HTTP/1.1",
        "Authorization: Bearer wsk_live_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789ab",
        "token wst_abcdefABCDEF123456",
        "{'HTTP_X_API_KEY': 'whatever-they-sent'}",
        "Cookie: authjs.session-token=abc123",
    ],
)
def test_redact(text):
    out = redact(text)
    for secret in ["AbCdEfGhIjKlMnOp", "abcdefABCDEF", "whatever-they-sent", "abc123"]:
        assert secret not in out
    assert "REDACTED" in out


def _emit(record: logging.LogRecord) -> logging.LogRecord:
    RedactSecretsFilter().filter(record)
    return record


def test_filter_redacts_message_args_traceback_and_extras():
    key = "wsk_live_" + "A" * 38
    try:
        raise ValueError(f"boom {key}")
    except ValueError:
        import sys

        record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "failed %s", (key,), sys.exc_info())
    record.request = f"<WSGIRequest: GET '/api/v1/me?api_key={key}'>"
    record = _emit(record)
    formatted = logging.Formatter("%(message)s %(request)s").format(record)
    assert key not in formatted
    assert key not in (record.exc_text or "")
    assert "REDACTED" in formatted


@pytest.fixture
def log_output():
    """What the configured console handler (JSON, with the redaction filter) writes."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


@pytest.mark.django_db
def test_request_log_lines_never_contain_the_key(client, log_output, workspace):
    _, plain = factories.make_key(workspace)
    client.get(f"/api/v1/me?key={plain}", HTTP_AUTHORIZATION=f"Bearer {plain}")
    client.get("/api/v1/me", HTTP_X_API_KEY=plain[:-2] + "xx")
    client.get(f"/api/nowhere?key={plain}")  # a 404 that django.request logs with the URL
    text = log_output.getvalue()
    assert '"route": "api/v1/me"' in text
    assert '"key_hint": "wsk_live_' in text
    assert plain not in text
    assert plain[9:-6] not in text


def test_error_reports_hide_credential_headers(rf):
    request = rf.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer wsk_live_secret", HTTP_X_API_KEY="wsk_live_secret")
    meta = ExceptionReporterFilter().get_safe_request_meta(request)
    assert "wsk_live_secret" not in repr(meta)


@pytest.mark.django_db
def test_widget_keys_and_visitor_tokens_never_reach_the_logs(client, log_output, workspace):
    assistant = factories.make_assistant(workspace, widget_enabled=True)
    _, publishable = factories.make_key(workspace, kind=ApiKey.Kind.PUBLISHABLE)
    base = f"/api/widget/{assistant.public_id}"
    client.get(f"{base}/config?key={publishable}")
    session = client.post(f"{base}/session", {"publishable_key": publishable}, content_type="application/json")
    token = session.json()["session_token"]
    client.post(
        f"{base}/chat", {"message": "hi"}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    client.get(f"{base}/history?token={token}", HTTP_AUTHORIZATION=f"Bearer {token[:-3]}xyz")  # a 401, logged
    text = log_output.getvalue()
    assert '"route": "api/widget/<str:assistant_id>/chat"' in text
    for secret in (publishable, token, publishable[9:-6], token[4:]):
        assert secret not in text
