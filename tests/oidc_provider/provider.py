"""A real OpenID Connect provider on loopback, for end-to-end login tests.

Runs panva's ``oidc-provider`` (see ``server.mjs`` beside this file) under Node
and walks its development login form with a ``requests`` session. Plain
functions, no pytest: the project's ``conftest.py`` wraps them in fixtures.

    provider, proc = start_provider(
        ["http://127.0.0.1:8000/oidc/callback/"],
        {"alice": {"email": "alice@example.test", "email_verified": True}},
    )
    try:
        with override_settings(**provider.settings_overrides()):
            ...
            callback_url = drive_login(http, authorization_url, "alice")
    finally:
        stop_provider(proc)
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

HERE = Path(__file__).resolve().parent
SERVER_SCRIPT = HERE / "server.mjs"
STARTUP_TIMEOUT = 15.0
# server.mjs names its cookies op_session, op_interaction, ...
PROVIDER_COOKIE_PREFIX = "op_"


@dataclass(frozen=True)
class OidcProvider:
    issuer: str  # exactly "http://127.0.0.1:<port>", no trailing slash
    client_id: str
    client_secret: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_endpoint: str
    end_session_endpoint: str = ""

    def settings_overrides(self) -> dict:
        """Django settings for mozilla-django-oidc and Parley pointing at this provider."""
        return {
            "OIDC_RP_CLIENT_ID": self.client_id,
            "OIDC_RP_CLIENT_SECRET": self.client_secret,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": self.authorization_endpoint,
            "OIDC_OP_TOKEN_ENDPOINT": self.token_endpoint,
            "OIDC_OP_USER_ENDPOINT": self.userinfo_endpoint,
            "OIDC_OP_JWKS_ENDPOINT": self.jwks_endpoint,
            "OIDC_OP_ISSUER": self.issuer,
            "OIDC_RP_SIGN_ALGO": "RS256",
        }


# --------------------------------------------------------------------------
# Starting and stopping
# --------------------------------------------------------------------------


def _ensure_node_modules() -> None:
    """Install oidc-provider from the lock file once (safe across parallel workers)."""
    marker = HERE / "node_modules" / "oidc-provider" / "package.json"
    if marker.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed; it is needed for the test OIDC provider")
    lock_path = Path(tempfile.gettempdir()) / "parley-oidc-provider-npm.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if marker.exists():
                return
            command = [npm, "ci", "--no-audit", "--no-fund"]
            if not (HERE / "package-lock.json").exists():
                command[1] = "install"
            result = subprocess.run(command, cwd=HERE, capture_output=True, text=True, timeout=300)
            if result.returncode != 0 or not marker.exists():
                raise RuntimeError(f"{' '.join(command)} failed in {HERE}:\n{result.stdout}\n{result.stderr}")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_provider(
    redirect_uris: list[str],
    accounts: dict,
    *,
    client_id: str = "parley-test-client",
    client_secret: str | None = None,
) -> tuple[OidcProvider, subprocess.Popen]:
    """Start the provider on a free loopback port; return it once discovery answers.

    ``accounts`` maps a login name to ``{"email": ..., "email_verified": bool}``.
    The id_token's ``sub`` is the login name. Any other login is accepted too,
    with email ``<login>@example.test`` and ``email_verified`` false.
    """
    if not redirect_uris:
        raise ValueError("at least one redirect URI is needed")
    _ensure_node_modules()
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed; it is needed for the test OIDC provider")
    client_secret = client_secret or secrets.token_urlsafe(32)

    last_error = ""
    for _attempt in range(3):  # a freshly picked port can be taken in between
        port = _free_port()
        env = {
            **os.environ,
            "OIDC_PORT": str(port),
            "OIDC_CLIENT_ID": client_id,
            "OIDC_CLIENT_SECRET": client_secret,
            "OIDC_REDIRECT_URI": ",".join(redirect_uris),
            "OIDC_ACCOUNTS": json.dumps(accounts),
        }
        log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115  (outlives this block: closed by stop_provider)
        proc = subprocess.Popen(
            [node, str(SERVER_SCRIPT)],
            cwd=HERE,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        proc._parley_log = log  # type: ignore[attr-defined]  # closed by stop_provider
        issuer = f"http://127.0.0.1:{port}"
        discovery = _wait_for_discovery(proc, issuer)
        if discovery is not None:
            provider = OidcProvider(
                issuer=discovery["issuer"],
                client_id=client_id,
                client_secret=client_secret,
                authorization_endpoint=discovery["authorization_endpoint"],
                token_endpoint=discovery["token_endpoint"],
                userinfo_endpoint=discovery["userinfo_endpoint"],
                jwks_endpoint=discovery["jwks_uri"],
                end_session_endpoint=discovery.get("end_session_endpoint", ""),
            )
            return provider, proc
        last_error = _read_log(proc)
        stop_provider(proc)
    raise RuntimeError(f"the test OIDC provider did not start:\n{last_error}")


def _wait_for_discovery(proc: subprocess.Popen, issuer: str) -> dict | None:
    url = f"{issuer}/.well-known/openid-configuration"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        try:
            response = requests.get(url, timeout=1)
            if response.status_code == 200:
                return response.json()
        except requests.RequestException:
            pass
        time.sleep(0.1)
    return None


def _read_log(proc: subprocess.Popen) -> str:
    log = getattr(proc, "_parley_log", None)
    if log is None or log.closed:
        return ""
    log.flush()
    log.seek(0)
    return log.read()


def stop_provider(proc: subprocess.Popen) -> None:
    """Stop a provider started by start_provider (SIGTERM, then SIGKILL)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    log = getattr(proc, "_parley_log", None)
    if log is not None:
        with contextlib.suppress(Exception):
            log.close()


# --------------------------------------------------------------------------
# Driving a login
# --------------------------------------------------------------------------


class _FormParser(HTMLParser):
    """Collects <form>s with their action, method and named <input>s."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._current: dict | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._current = {
                "action": attributes.get("action", ""),
                "method": attributes.get("method", "get").lower(),
                "inputs": [],
            }
            self.forms.append(self._current)
        elif tag in ("input", "button") and self._current is not None:
            if attributes.get("name"):
                self._current["inputs"].append(
                    (
                        attributes["name"],
                        attributes.get("type", "text").lower(),
                        attributes.get("value", ""),
                    )
                )

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None

    def handle_data(self, data):
        if data.strip():
            self.text.append(data.strip())


def _same_origin(url: str, origin: tuple[str, str, int | None]) -> bool:
    parts = urlsplit(url)
    return (parts.scheme, parts.hostname, parts.port) == origin


def drive_login(http: requests.Session, authorization_url: str, login: str, *, max_steps: int = 20) -> str:
    """Log ``login`` in at the provider; return the redirect back to the app.

    Starts at ``authorization_url`` (the provider URL the app redirected to),
    follows redirects only while they stay on the provider's origin, fills the
    devInteractions login form (any password works) and submits a consent form
    if one appears. Returns the first URL off the provider (the app's
    ``/oidc/callback/?code=...&state=...&iss=...``) without requesting it.
    """
    parts = urlsplit(authorization_url)
    origin = (parts.scheme, parts.hostname, parts.port)
    # Start from a fresh provider session so the login form is always shown and
    # the given login is the one signed in. Cookie jars ignore ports, so only the
    # provider's own cookies (named op_*, see server.mjs) are dropped.
    for cookie in list(http.cookies):
        if cookie.name.startswith(PROVIDER_COOKIE_PREFIX):
            http.cookies.clear(cookie.domain, cookie.path, cookie.name)
    url, method, data = authorization_url, "get", None

    for _step in range(max_steps):
        if method == "get":
            response = http.get(url, params=data, allow_redirects=False, timeout=10)
        else:
            response = http.post(url, data=data, allow_redirects=False, timeout=10)
        if response.is_redirect or response.status_code in (301, 302, 303, 307, 308):
            location = urljoin(response.url, response.headers["Location"])
            if not _same_origin(location, origin):
                return location
            url, method, data = location, "get", None
            continue

        page = _FormParser()
        page.feed(response.text)
        if response.status_code != 200 or not page.forms:
            raise RuntimeError(
                f"unexpected provider response {response.status_code} at {response.url}: " + " ".join(page.text)[:2000]
            )
        form = page.forms[0]
        fields: dict[str, str] = {}
        for name, kind, value in form["inputs"]:
            if name == "login":
                fields[name] = login
            elif kind == "password":
                fields[name] = "any-password"
            elif kind != "submit" or name not in fields:
                fields[name] = value
        action = urljoin(response.url, form["action"]) if form["action"] else response.url
        if not _same_origin(action, origin):
            raise RuntimeError(f"provider form posts off the provider: {action}")
        url, method, data = action, form["method"], fields

    raise RuntimeError(f"login at the provider did not finish within {max_steps} steps")
