"""Reads on API keys: the request-path lookup and the lists the pages show."""

from __future__ import annotations

import time

from django.db.models import QuerySet

from accounts.models import AuditEvent, Workspace
from apikeys.cache import InFlightLookup, key_cache
from apikeys.models import ApiKey
from apikeys.records import KeyRecord
from core.cache import REDIS_ERRORS


def key_lookup(digest: str, in_flight: InFlightLookup | None = None) -> tuple[KeyRecord | None, tuple[int, int] | None]:
    """Find a key by digest: ``(record, (count, seconds left) if counted)``.

    One Redis round trip on a hit (which also counts the request against the
    key's rate limit) — already under way when the key middleware started it —
    else one indexed query that joins the workspace.
    """
    now = in_flight.now if in_flight else int(time.time())
    if key_cache.enabled:
        try:
            if in_flight is not None:
                record, usage = key_cache.finish_lookup(in_flight)
            else:
                record, usage = key_cache.lookup(digest, now)
            if record is not None:
                return record, usage
        except REDIS_ERRORS:
            return _from_database(digest), None
        record = _from_database(digest)
        if record is not None:
            key_cache.fill(digest, record)
            try:
                refreshed, usage = key_cache.lookup(digest, now)
            except REDIS_ERRORS:
                return record, None
            if refreshed is not None and refreshed.version == record.version:
                return refreshed, usage
        return record, None
    return _from_database(digest), None


def _from_database(digest: str) -> KeyRecord | None:
    key = ApiKey.objects.select_related("workspace").filter(digest=digest).first()
    return KeyRecord.from_model(key) if key else None


def workspace_keys(workspace: Workspace) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(workspace=workspace).select_related("created_by", "revoked_by")


def key_audit_events(key: ApiKey) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        workspace=key.workspace, target_type=key._meta.label_lower, target_id=str(key.pk)
    ).select_related("actor_user")
