"""OWASP API8:2023 Security Misconfiguration — production settings, headers, CORS, DEBUG, errors.

- ``manage.py check --deploy`` passes with the production settings (run as CI runs it), and
  fails when the production essentials are missing (no shared Redis).
- Production itself, in a process of its own: DEBUG off, HSTS, HTTPS redirect, secure
  ``__Secure-`` cookies, no private webhook targets.
- Every answer this suite can make — pages, the in-app API, the public API, the widget, the
  admin, errors — carries nosniff, the referrer policy, a CSP without inline scripts,
  ``X-Frame-Options: DENY`` (the widget's demo page alone names who may frame it), and
  ``Cache-Control: no-store`` when the request carried a credential.
- CORS only under ``/api/widget/``, only to the assistant's origins, never ``*``, never with credentials.
- No traceback in any 500, on any surface.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from rest_framework.test import APIClient

from tests import factories
from tests.security.urlconf import routes
from tests.security.world import get_answers
from tests.widget.conftest import SITE

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def _production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        DJANGO_ALLOWED_HOSTS="parley.example.com",
        **extra,
    )
    return env


def _check_deploy(**extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(**extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_the_production_settings():
    result = _check_deploy(REDIS_URL="redis://127.0.0.1:6379/0")  # read, never connected to, by the checks
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_without_a_shared_redis():
    """Without REDIS_URL every process counts its own limits: a deployment mistake the check names."""
    result = _check_deploy()
    assert result.returncode != 0
    assert "parley.W001" in result.stderr + result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = _production_env()
    env.pop("DJANGO_SECRET_KEY")
    result = subprocess.run([PYTHON, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set in production." in result.stderr


PRODUCTION_PROBE = textwrap.dedent(
    """
    import json, django
    django.setup()
    from django.conf import settings
    from django.test import Client
    client = Client(SERVER_NAME="parley.example.com")
    plain = client.get("/healthz")
    secure = client.get("/healthz", secure=True)
    print(json.dumps({
        "DEBUG": settings.DEBUG,
        "http": [plain.status_code, plain.get("Location")],
        "hsts": secure.get("Strict-Transport-Security"),
        "session_cookie": [settings.SESSION_COOKIE_NAME, settings.SESSION_COOKIE_SECURE,
                           settings.SESSION_COOKIE_HTTPONLY, settings.SESSION_COOKIE_SAMESITE],
        "csrf_cookie_secure": settings.CSRF_COOKIE_SECURE,
        "private_targets": settings.WEBHOOK_ALLOW_PRIVATE_TARGETS,
        "cors": [settings.CORS_URLS_REGEX, settings.CORS_ALLOW_CREDENTIALS,
                 getattr(settings, "CORS_ALLOW_ALL_ORIGINS", False), settings.CORS_ALLOWED_ORIGINS],
    }))
    """
)


@pytest.mark.parametrize("debug_env", ["", "1"])
def test_production_is_hardened_even_if_someone_sets_django_debug(debug_env):
    env = _production_env(DJANGO_DEBUG=debug_env) if debug_env else _production_env()
    result = subprocess.run(
        [PYTHON, "-c", PRODUCTION_PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["DEBUG"] is False
    assert seen["http"] == [301, "https://parley.example.com/healthz"]
    assert seen["hsts"] == "max-age=31536000; includeSubDomains; preload"
    assert seen["session_cookie"] == ["__Secure-authjs.session-token", True, True, "Lax"]
    assert seen["csrf_cookie_secure"] is True
    assert seen["private_targets"] is False
    assert seen["cors"] == ["^/api/widget/", False, False, []]


def test_debug_is_off_by_default_everywhere_but_development():
    probe = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    for module, expected in [
        ("config.settings.test", "False"),
        ("config.settings.local", "True"),  # ./dev serve: development only
    ]:
        env = {**_production_env(), "DJANGO_SETTINGS_MODULE": module}
        out = subprocess.run([PYTHON, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == expected, (module, out.stderr)
    assert "config.settings.production" in (ROOT / "config" / "wsgi.py").read_text()  # gunicorn's default
    assert django_settings.DEBUG is False


# --- the headers of every answer


def _assert_headers(url: str, response, *, credentialed: bool) -> None:
    assert response["X-Content-Type-Options"] == "nosniff", url
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin", url
    csp = dict(part.strip().partition(" ")[::2] for part in response["Content-Security-Policy"].split(";"))
    assert "'unsafe-inline'" not in csp.get("script-src", csp["default-src"]), url
    assert "'unsafe-eval'" not in response["Content-Security-Policy"], url
    if not url.startswith("/widget/demo/"):
        assert response["X-Frame-Options"] == "DENY", url
        assert csp["frame-ancestors"] == "'none'", url
    if credentialed:
        assert response["Cache-Control"] == "no-store", url


def test_every_answer_carries_the_security_headers(world, sms_assistant):
    answers = get_answers(world)
    assert len(answers) >= 40
    for url, response in answers:
        _assert_headers(url, response, credentialed=not url.startswith(("/healthz", "/readyz")))


def test_anonymous_answers_and_errors_carry_them_too(db, settings):
    settings.PUBLIC_RATE_LIMIT = "1/m"
    for path in ["/accounts/login/", "/api/v1/me", "/api/me", "/api/nowhere", "/nowhere", "/api/v1/schema/"]:
        response = Client().get(path)
        _assert_headers(path, response, credentialed=False)
    limited = Client().get("/accounts/login/")
    assert limited.status_code == 429
    _assert_headers("/accounts/login/", limited, credentialed=False)


def test_a_new_key_and_a_new_signing_secret_are_no_store(workspace, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    _, key = factories.make_key(workspace, scopes=["events:read"])
    hook = APIClient().post(
        "/api/v1/hooks",
        {"target_url": "http://127.0.0.1:9/h", "event": "contact.created"},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert (hook.status_code, hook["Cache-Control"]) == (201, "no-store")


# --- CORS


def _preflight(client: Client, path: str, origin: str):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )


def test_cors_is_answered_only_under_the_widget_and_never_to_everyone(workspace, settings):
    open_assistant = factories.make_assistant(workspace, widget_enabled=True, allowed_origins=[])  # every origin
    locked = factories.make_assistant(workspace, widget_enabled=True, allowed_origins=[SITE])
    evil = "https://evil.example.net"
    client = Client()
    for route in routes():
        if "^" in route.route or (route.params and not route.starts("api/widget/")):
            continue
        path = "/" + route.route.replace("<str:assistant_id>", open_assistant.public_id)
        for origin in (evil, "null"):
            response = _preflight(client, path, origin)
            response_get = client.get(path, HTTP_ORIGIN=origin)
            for answer in (response, response_get):
                allowed = answer.get("Access-Control-Allow-Origin")
                assert allowed in (None, origin), (path, allowed)
                assert allowed != "*"
                assert "Access-Control-Allow-Credentials" not in answer, path
                if allowed and not route.starts("api/widget/"):
                    raise AssertionError(f"/{route.route} answers CORS")
                if origin == "null" and path.endswith(("/chat", "/history", "/lead", "/feedback", "/session")):
                    assert allowed is None, path
    refused = _preflight(client, f"/api/widget/{locked.public_id}/chat", evil)
    assert "Access-Control-Allow-Origin" not in refused
    allowed = _preflight(client, f"/api/widget/{locked.public_id}/chat", SITE)
    assert allowed["Access-Control-Allow-Origin"] == SITE
    assert "Access-Control-Allow-Credentials" not in allowed


def test_the_widget_sets_no_cookie_and_reads_none(visitor, owner):
    visitor.client.force_login(owner)  # a signed-in browser: its cookies play no part
    started = visitor.post("session")
    assert started.status_code == 201
    assert "Set-Cookie" not in started
    assert "Cookie" not in started.get("Vary", "")


# --- no traceback, on any surface


@pytest.mark.urls("tests.security.exploding_urls")
@pytest.mark.parametrize("path", ["/api/buggy", "/buggy-page", "/api/widget/buggy", "/api/v1/buggy"])
def test_a_500_shows_no_traceback(path):
    client = Client(raise_request_exception=False)
    response = client.get(path)
    assert response.status_code == 500
    body = response.content.decode()
    for leak in ("boom: secret internals", "Traceback", "RuntimeError", 'File "', ".py"):
        assert leak not in body, (path, leak)
    if path.startswith("/api/"):
        assert response.json()["error"] == {
            "code": "server_error",
            "message": "Internal server error.",
            "request_id": response["X-Request-Id"],
        }
    _assert_headers(path, response, credentialed=False)
