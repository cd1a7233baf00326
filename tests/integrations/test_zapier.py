"""The Zapier app, end to end: Zapier's own app tester against a live Parley, then revocation.

Its jest tests (integrations/zapier/test/) connect with a key, create a contact, subscribe
a REST hook for new contacts at a receiver of ours, read samples and unsubscribe another
hook. Then this test runs the worker and checks the receiver got the new contact, signed
so that ``standardwebhooks`` verifies it; revokes the key; and proves the Zap is
disconnected: its subscription is gone and the next contact reaches nobody.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from accounts.actors import Actor
from apikeys.services import api_key_revoke
from tests import factories
from tests.webhooks.conftest import run_worker
from webhooks.models import HookSubscription

APP = Path(__file__).resolve().parents[2] / "integrations" / "zapier"
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which("npx"), reason="the Zapier app's tests need Node.js"),
]


def run_app_tests(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["npx", "--no-install", "jest", "--testTimeout", "20000", "--runInBand"],
        cwd=APP,
        env={**os.environ, **env, "DISABLE_ZAPIER_ANALYTICS": "1", "NO_UPDATE_NOTIFIER": "1", "CI": "true"},
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_zapier_app_end_to_end(live_server, receiver, dev_targets, tmp_path):
    workspace = factories.make_workspace(name="Zap Co")
    key, plain = factories.make_key(workspace, scopes=["contacts:write", "tickets:write", "chat:write", "events:read"])
    out = tmp_path / "zapier.json"
    result = run_app_tests(
        {"BASE_URL": live_server.url, "API_KEY": plain, "TARGET_URL": receiver.url, "OUT_FILE": str(out)}
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    seen = json.loads(out.read_text())
    assert seen["workspace"]["name"] == "Zap Co"

    # The subscription Zapier made is live; the one it unsubscribed is not.
    hook = HookSubscription.objects.get(public_id=seen["subscription"]["id"])
    assert hook.target_url == receiver.url
    assert not HookSubscription.objects.filter(public_id=seen["unsubscribed"], disabled_at__isnull=True).exists()

    # The worker delivers the contact Zapier created, signed the Standard Webhooks way.
    run_worker()
    [delivery] = receiver.requests
    payload = Webhook(seen["subscription"]["secret"]).verify(delivery.body, delivery.headers)
    assert payload["type"] == "contact.created"
    assert payload["data"]["id"] == seen["contact"]["id"]

    # Revoking the key disconnects every Zap that uses it.
    api_key_revoke(key=key, actor=Actor.for_user(factories.owner_of(workspace)))
    assert not HookSubscription.objects.filter(pk=hook.pk, disabled_at__isnull=True).exists()
    factories.make_contact(workspace, email="after-revoke@example.com")
    run_worker()
    assert len(receiver.requests) == 1
