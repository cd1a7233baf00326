"""``Idempotency-Key`` on ``POST /api/v1/…`` (SPEC §10): a retried write creates nothing twice.

As Stripe does it: the first request with a key *claims* a row (unique per API key
and idempotency key) before any work, then does the work and stores its answer in
one transaction, so either both commit or neither does. A retry with the same key:
- finds the stored answer → replays it (``Idempotent-Replayed: true``), nothing runs;
- finds the claim still running → 409 ``idempotency_key_in_use``;
- was made with another method, path or body → 409 ``idempotency_key_reused``.
5xx answers are not stored (nothing was committed): the claim is dropped and a retry
runs again. A claim older than ``IdempotencyRecord.STALE_CLAIM`` belongs to a request
whose process died mid-way — its transaction rolled back — and is taken over. Rows
live 24 hours (``prune_idempotency_keys`` deletes older ones); an expired key is free.
Only requests that passed the key checks get this far: a 401 or 403 is never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from apikeys.models import IdempotencyRecord
from core.crypto import decrypt, encrypt
from core.errors import IdempotencyKeyInUse, IdempotencyKeyReused, InvalidInput

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
INVALID = "Send 1–255 printable ASCII characters (a UUID is a good choice)."


def requested_key(request: Request) -> str | None:
    """The request's ``Idempotency-Key``, ``None`` without one; 400 when it is malformed."""
    value = request.META.get("HTTP_IDEMPOTENCY_KEY")
    if value is None:
        return None
    if not 0 < len(value) <= IdempotencyRecord.MAX_KEY_LENGTH or not all(" " <= ch <= "~" for ch in value):
        raise InvalidInput({HEADER: [INVALID]})
    return value


def _fingerprint(request: Request) -> str:
    raw = request._request.body  # read before the view parses it (DRF reads the same cached bytes)
    return hashlib.sha256(b"\n".join([request.method.encode(), request.path.encode(), raw])).hexdigest()  # type: ignore[union-attr]  # a POST


def _claim(api_key_id: int, key: str, fingerprint: str, now: datetime) -> IdempotencyRecord | None:
    """Claim ``key``: ``None`` when claimed now, else the row another request holds."""
    for _ in range(3):
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.create(
                    api_key_id=api_key_id, key=key, fingerprint=fingerprint, created_at=now
                )
            return None
        except IntegrityError:
            held = IdempotencyRecord.objects.filter(api_key_id=api_key_id, key=key).first()
            if held is None:
                continue  # pruned in between: claim again
            expired = held.created_at <= now - IdempotencyRecord.TTL
            stale = held.status_code is None and held.created_at <= now - IdempotencyRecord.STALE_CLAIM
            if hmac.compare_digest(held.fingerprint, fingerprint) and not (expired or stale):
                return held
            if not (expired or stale):
                raise IdempotencyKeyReused from None
            # Free again: take it over, unless another retry took it over first.
            taken = IdempotencyRecord.objects.filter(pk=held.pk, created_at=held.created_at).update(
                fingerprint=fingerprint, status_code=None, response_encrypted="", created_at=now
            )
            if taken:
                return None
    raise IdempotencyKeyInUse


def _replay(held: IdempotencyRecord) -> Response:
    if held.status_code is None:
        raise IdempotencyKeyInUse
    body = json.loads(decrypt(held.response_encrypted)) if held.response_encrypted else None
    return Response(body, status=held.status_code, headers={REPLAYED_HEADER: "true"})


def idempotent(request: Request, *, api_key_id: int, key: str, run: Callable[[], Response]) -> Response:
    """Run ``run`` (the view's handler, exceptions already turned into responses) at most once per key."""
    fingerprint = _fingerprint(request)
    now = timezone.now()
    held = _claim(api_key_id, key, fingerprint, now)
    if held is not None:
        return _replay(held)
    claim = IdempotencyRecord.objects.filter(api_key_id=api_key_id, key=key, created_at=now)
    try:
        with transaction.atomic():
            response = run()
            if response.status_code >= 500:
                raise _NotStored(response)
            stored = json.dumps(response.data, cls=DjangoJSONEncoder) if response.data is not None else ""
            claim.update(status_code=response.status_code, response_encrypted=encrypt(stored) if stored else "")
    except _NotStored as not_stored:  # rolled back: nothing of the work remains, nor the claim's answer
        claim.delete()
        return not_stored.response
    except BaseException:
        claim.delete()
        raise
    return response


class _NotStored(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__()
        self.response = response


def idempotency_records_prune() -> int:
    """Delete records older than 24 hours; returns how many."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lte=timezone.now() - IdempotencyRecord.TTL).delete()
    return deleted
