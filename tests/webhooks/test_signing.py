"""Signatures a Standard Webhooks library verifies (standardwebhooks.com)."""

from __future__ import annotations

import base64
import re
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from webhooks.signing import secret_generate, signature, signed_headers


def test_the_specifications_test_vector():
    # From the Standard Webhooks / Svix documentation.
    assert (
        signature(
            secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp=1614265330,
            body=b'{"test": 2432232314}',
        )
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_secrets_are_whsec_and_at_least_24_random_bytes():
    secrets = {secret_generate() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert re.fullmatch(r"whsec_[A-Za-z0-9+/]+=*", secret)
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24


def test_the_library_verifies_what_we_sign_and_refuses_tampering():
    secret = secret_generate()
    body = '{"id":"evt_1","type":"contact.created","data":{"name":"Zoë"}}'.encode()
    headers = signed_headers(secret=secret, msg_id="evt_1", timestamp=int(time.time()), body=body)
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert Webhook(secret).verify(body, headers)["data"] == {"name": "Zoë"}
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"Zo", b"Jo"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_generate()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-id": "evt_2"})
