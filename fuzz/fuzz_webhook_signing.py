"""atheris: the Standard Webhooks signer (webhooks/signing.py), checked by the ``standardwebhooks`` library.

Any body, event id and set of live secrets: the library verifies the signature with each
live secret, and refuses another body.
"""

from __future__ import annotations

import json
import time

import atheris
from harness import run, setup

setup("webhooks.signing")

from standardwebhooks.webhooks import Webhook, WebhookVerificationError  # noqa: E402  (after Django's setup)

from webhooks.signing import secret_generate, signed_headers  # noqa: E402

SECRETS = [secret_generate() for _ in range(3)]
ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"


def test_one_input(data: bytes) -> None:
    provider = atheris.FuzzedDataProvider(data)
    live = SECRETS[: provider.ConsumeIntInRange(1, len(SECRETS))]
    msg_id = "evt_" + "".join(ID_CHARS[b % len(ID_CHARS)] for b in provider.ConsumeBytes(20)) + "x"
    text = provider.ConsumeUnicodeNoSurrogates(300)
    body = json.dumps({"data": text}, ensure_ascii=False).encode()
    timestamp = int(time.time()) + provider.ConsumeIntInRange(-200, 200)
    headers = signed_headers(secret=live[0], msg_id=msg_id, timestamp=timestamp, body=body, previous_secrets=live[1:])
    for secret in live:
        assert Webhook(secret).verify(body, headers) == {"data": text}
    try:
        Webhook(live[0]).verify(body + b" ", headers)
    except WebhookVerificationError:
        return
    raise AssertionError(f"another body verified: {headers}")


if __name__ == "__main__":
    run(test_one_input)
