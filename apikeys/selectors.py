"""Reads on API keys: the request-path lookup and the lists the pages show."""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import AuditEvent, Workspace
from apikeys.cache import key_cache
from apikeys.localcache import local_keys
from apikeys.models import ApiKey, KeyInvalidation
from apikeys.records import KeyRecord
from core.cache import REDIS_ERRORS
from core.metrics import KEY_CACHE_LOOKUPS, LOCAL_KEY_LOOKUPS

_replayed: set[tuple[str, int]] = set()


def replay_invalidations() -> None:
    """Push the tombstones of keys changed recently, whoever changed them (every second, off the request path).

    A revoking process writes its tombstone to Redis itself; when it cannot (a
    partition) and dies before Redis answers again, this replay — run by every
    process, on the database monitor's beat (``core.dbhealth``) — still fences the
    key within about a second. Rows older than the cache TTL describe entries that
    have expired from Redis anyway.
    """
    if not key_cache.enabled:
        return
    since = timezone.now() - timedelta(seconds=settings.API_KEY_CACHE_TTL + REPLAY_MARGIN_SECONDS)
    for digest, version in KeyInvalidation.objects.filter(created_at__gte=since).values_list("digest", "version"):
        if (digest, version) not in _replayed:
            key_cache.invalidate(digest, version)
            if not key_cache.has_pending():
                _replayed.add((digest, version))
    if len(_replayed) > 10_000:  # old pairs are outside the window: forget them
        _replayed.clear()


REPLAY_MARGIN_SECONDS = 10


# Every warm request counts one: a C call (core.metrics.TickedCounter), not Counter.inc.
_held_ticks = LOCAL_KEY_LOOKUPS.ticks


def api_key_held(digest: str) -> tuple[KeyRecord | None, int | None]:
    """The record this process holds for ``digest`` and may trust now (no I/O): ``(record, epoch)``.

    ``epoch`` (``None``: trust nothing local) goes to ``api_key_fetch``, which keeps what it
    reads unless an invalidation arrived meanwhile.
    """
    if not local_keys.enabled:  # which needs key_cache.enabled too
        return None, None
    epoch = local_keys.poll()
    if epoch is None:
        return None, None
    held = local_keys.get(digest)
    if held is not None:
        next(_held_ticks)
    return held, epoch


def api_key_lookup(digest: str) -> tuple[KeyRecord | None, tuple[int, int] | None]:
    """Find a key by digest: ``(record, (count, seconds left) if counted)``.

    Warm: the record this process holds (``apikeys.localcache``), no round trip; the
    rate-limit step counts it (``apikeys.throttling``). Else ``api_key_fetch``.
    """
    held, epoch = api_key_held(digest)
    if held is not None:
        return held, None
    return api_key_fetch(digest, epoch)


def api_key_fetch(digest: str, epoch: int | None) -> tuple[KeyRecord | None, tuple[int, int] | None]:
    """A key this process does not hold: one Redis round trip on a hit (which also counts the
    request against the key's rate limit), else one indexed query that joins the workspace.
    What is read is kept in the process when ``epoch`` (``api_key_held``'s) is still current."""
    if not key_cache.enabled:
        KEY_CACHE_LOOKUPS.labels("bypass").inc()
        return _from_database(digest), None
    now = int(time.time())
    try:
        record, usage = key_cache.lookup(digest, now)
        if record is not None:
            KEY_CACHE_LOOKUPS.labels("hit").inc()
            if epoch is not None:
                local_keys.store(digest, record, epoch)
            return record, usage
    except REDIS_ERRORS:
        KEY_CACHE_LOOKUPS.labels("bypass").inc()
        return _from_database(digest), None
    KEY_CACHE_LOOKUPS.labels("miss").inc()
    record = _from_database(digest)
    if record is None:
        return None, None
    key_cache.fill(digest, record)
    try:
        refreshed, usage = key_cache.lookup(digest, now)
    except REDIS_ERRORS:
        return record, None
    if refreshed is not None and refreshed.cache_version == record.cache_version:
        if epoch is not None:
            local_keys.store(digest, refreshed, epoch)
        return refreshed, usage
    return record, None


def _from_database(digest: str) -> KeyRecord | None:
    key = ApiKey.objects.select_related("workspace").filter(digest=digest).first()
    return KeyRecord.from_model(key) if key else None


def api_key_list(workspace: Workspace) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(workspace=workspace).select_related("created_by", "revoked_by")


def api_key_audit_events(key: ApiKey) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        workspace=key.workspace, target_type=key._meta.label_lower, target_id=str(key.pk)
    ).select_related("actor_user")


def api_key_live_successor(key: ApiKey) -> ApiKey | None:
    """The active key that a roll of ``key`` issued, if there is one."""
    for successor in ApiKey.objects.filter(rolled_from=key).select_related("workspace"):
        if successor.is_active:
            return successor
    return None
