"""Secrets at rest: what must be read back is encrypted, what only needs checking is hashed, and every
comparison of a secret takes constant time.

Read back (so encrypted with ``FIELD_ENCRYPTION_KEYS``, Fernet under a MultiFernet): webhook signing
secrets, Twilio auth tokens, identity secrets, stored idempotent answers (one may hold a signing
secret). Only checked (so a SHA-256 digest): API keys, visitor tokens. The test makes one of each,
then reads every text column of every table of the database: no plain secret is anywhere.
"""

from __future__ import annotations

import ast
import hashlib
import re
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.db import connection, models
from django.test import Client
from rest_framework.test import APIClient

from apikeys.models import ApiKey
from assistants.models import Assistant
from core import crypto
from tests import factories
from tests.sms import twilio
from webhooks.models import HookSubscription
from widget.models import VisitorSession

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "apikeys", "assistants", "config", "core", "crm", "demo", "sms", "webhooks", "widget")


@pytest.fixture
def every_secret(workspace, owner, settings, visitor, sms_assistant) -> dict[str, str]:
    """One of each secret Parley keeps, made as users make them; name → plain value."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    _, secret_key = factories.make_key(workspace, scopes=["events:read"])
    _, publishable_key = factories.make_key(workspace, kind=ApiKey.Kind.PUBLISHABLE)
    hook = (
        APIClient()
        .post(
            "/api/v1/hooks",
            {"target_url": "http://127.0.0.1:9/hook", "event": "contact.created"},
            format="json",
            HTTP_AUTHORIZATION=f"Bearer {secret_key}",
            HTTP_IDEMPOTENCY_KEY="hook-once",  # the stored answer carries the secret: encrypted too
        )
        .json()
    )
    client = Client()
    client.force_login(owner)
    identity = client.post(
        f"/api/assistants/{sms_assistant.public_id}/identity-secret", {}, content_type="application/json"
    ).json()["identity_secret"]
    token = visitor.start()["session_token"]
    return {
        "secret key": secret_key,
        "publishable key": publishable_key,
        "signing secret": hook["secret"],
        "signing secret's key bytes": hook["secret"].removeprefix("whsec_"),
        "Twilio auth token": twilio.AUTH_TOKEN,
        "identity secret": identity,
        "visitor token": token,
    }


def _every_text_value() -> list[tuple[str, str, str]]:
    """(table, column, value) of every text column of every row of every table."""
    found = []
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            table = model._meta.db_table
            columns = [
                f.column
                for f in model._meta.concrete_fields
                if isinstance(f, (models.CharField, models.TextField, models.JSONField))
            ]
            if not columns:
                continue
            quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
            cursor.execute(f"SELECT {quoted} FROM {connection.ops.quote_name(table)}")  # noqa: S608  (our own names)
            for row in cursor.fetchall():
                found.extend((table, column, str(value)) for column, value in zip(columns, row, strict=True) if value)
    return found


def test_no_plain_secret_is_anywhere_in_the_database(every_secret):
    values = _every_text_value()
    assert len(values) > 50
    leaks = [
        f"{name} in {table}.{column}"
        for table, column, value in values
        for name, plain in every_secret.items()
        if plain in value
    ]
    assert not leaks, leaks


def test_what_is_only_checked_is_stored_as_its_sha256(every_secret):
    for plain, stored in [
        (every_secret["secret key"], ApiKey.objects.filter(kind="secret").values_list("digest", flat=True)),
        (every_secret["publishable key"], ApiKey.objects.filter(kind="publishable").values_list("digest", flat=True)),
        (every_secret["visitor token"], VisitorSession.objects.values_list("digest", flat=True)),
    ]:
        assert hashlib.sha256(plain.encode()).hexdigest() in set(stored)


def test_what_is_read_back_is_encrypted_with_the_configured_keys(every_secret, settings):
    hook = HookSubscription.objects.get(disabled_at__isnull=True, secret_encrypted__gt="")
    assistant = Assistant.objects.get(twilio_account_sid=twilio.ACCOUNT_SID)
    stored = {
        "signing secret": hook.secret_encrypted,
        "Twilio auth token": assistant.twilio_auth_token_encrypted,
        "identity secret": assistant.identity_secret_encrypted,
    }
    for name, ciphertext in stored.items():
        assert ciphertext.startswith("gAAAAA"), name  # a Fernet token
        assert crypto.decrypt(ciphertext) == every_secret[name]
    # Encrypted under the configured keys, not under a constant: another key opens none of them.
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    for ciphertext in stored.values():
        with pytest.raises(crypto.InvalidToken):
            crypto.decrypt(ciphertext)


def test_a_new_key_in_front_keeps_the_old_ciphertexts_readable(settings):
    """Rotation: the first key encrypts, every key decrypts."""
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    before = crypto.encrypt("a Twilio token")
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    after = crypto.encrypt("a Twilio token")
    assert crypto.decrypt(before) == crypto.decrypt(after) == "a Twilio token"
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert crypto.decrypt(after) == "a Twilio token"
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(before)


# --- comparisons of secrets take constant time

SECRETISH = re.compile(r"secret|signature|digest|hash|token|password|passwd|hmac|nonce|fingerprint|otp", re.I)


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, (ast.Call, ast.Subscript)):
        return _name(node.func if isinstance(node, ast.Call) else node.value)
    return None


def _literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_literal(e) for e in node.elts)
    name = _name(node)
    return name is not None and name.isupper()  # a constant: TOKEN_LENGTH, PREFIX…


def test_no_secret_is_compared_with_eq_or_in():
    """``==``, ``!=``, ``in`` stop at the first differing byte: a secret, signature, digest or token is
    compared with ``hmac.compare_digest`` / ``secrets.compare_digest`` everywhere in Parley's code."""
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.Compare):
                    continue
                operands = [node.left, *node.comparators]
                for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
                    if not isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)) or _literal(left) or _literal(right):
                        continue
                    if any(SECRETISH.search(_name(side) or "") for side in (left, right)):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    # Not secrets: an ETag of the public FAQ (If-None-Match, RFC 9110 compares them as strings).
    allowed = {
        "widget/api.py: etag in [tag.removeprefix('W/') for tag in sent]",  # a public ETag, not a secret
        "accounts/services.py: stale_keys_digest != workspace.stale_keys_digest",  # a boolean setting's name
    }
    assert {re.sub(r":\d+:", ":", f) for f in found} <= allowed, found


def test_the_scanner_sees_a_plain_comparison():
    tree = ast.parse("ok = given_signature == expected_signature\nfine = len(token) == TOKEN_LENGTH")
    compares = [n for n in ast.walk(tree) if isinstance(n, ast.Compare)]
    flagged = [
        n
        for n in compares
        if not (_literal(n.left) or _literal(n.comparators[0])) and SECRETISH.search(_name(n.left) or "")
    ]
    assert len(flagged) == 1
