"""The shared cache of key records, and how revocation reaches it (SPEC §2, §10).

Entries are versioned. ``ApiKey.cache_version`` is bumped in the same transaction
as every change a cached record must not outlive (revoke, roll, a workspace's plan
or status). After commit the writer stores a *tombstone* carrying the new version.
A Lua script writes an entry only if it is newer than what Redis holds, so a
request that read the database just before a revoke cannot refill the cache with
the old record just after it: its version is older than the tombstone's.

If Redis cannot be reached when a tombstone is due (a partition), the tombstone is
kept in this process and pushed by a retry thread, and before any later lookup of
this process, as soon as Redis answers. And the tombstone does not depend on that
process living: the change also wrote a ``KeyInvalidation`` row (an outbox, in the
change's own transaction), and every process replays the recent rows into Redis
once a second, off the request path (``apikeys.selectors.replay_invalidations`` on
the database monitor's beat, ``core.dbhealth``). So a key revoked by a process that never reaches Redis again (it
died in the partition) is refused by every other process within about a second of
the commit — the window is the replay interval, whichever process revoked; and a
process that cannot reach Redis reads the database, so it has no window at all.

Without Redis (the embedded default) nothing is cached: one indexed query a request.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.dispatch import receiver

from apikeys.records import KeyRecord
from core.cache import REDIS_ERRORS

logger = logging.getLogger("parley.apikeys.cache")

# An entry is a Redis hash, ``<prefix>:key:<digest>``, with these fields:
#   version     ApiKey.cache_version of what the entry describes
#   tombstone   "1" for a tombstone (the key changed: read the database), else "0"
#   record      KeyRecord.to_json() (records only)
#   counted     "1" when a request with this key reaches the rate-limit step
#   expires_at  expiry in unix seconds, "0" for none
#   rate_period the rate limit's window in seconds
# The scripts read fields, never parse JSON, to keep the hot path short. The
# rate-limit counter of a window is the string ``<prefix>:rl:<digest>:<window start>``:
# outside ``<prefix>:key:``, which each process's tracking connection watches
# (``apikeys.localcache``), so counting never invalidates anyone's records.

# KEYS[1] entry; ARGV: version, ttl, "fill"|"tomb", record, counted, expires_at, rate_period.
# A fill replaces an older entry or a tombstone of its own version; a tombstone
# replaces anything older than itself.
_WRITE_IF_NEWER = """
local cur = redis.call('HMGET', KEYS[1], 'version', 'tombstone')
local v = tonumber(ARGV[1])
if cur[1] then
  local cv = tonumber(cur[1])
  if cv > v then return 0 end
  if cv == v and (ARGV[3] == 'tomb' or cur[2] == '0') then return 0 end
end
redis.call('DEL', KEYS[1])
if ARGV[3] == 'tomb' then
  redis.call('HSET', KEYS[1], 'version', ARGV[1], 'tombstone', '1')
else
  redis.call('HSET', KEYS[1], 'version', ARGV[1], 'tombstone', '0', 'record', ARGV[4], 'counted', ARGV[5],
             'expires_at', ARGV[6], 'rate_period', ARGV[7])
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""

# KEYS[1] entry, KEYS[2] counter base; ARGV[1] now (seconds). Returns {record JSON or nil, count, seconds left}.
# Counts the request against the key's rate limit in the same round trip, when
# the cached record says the key gets that far (SPEC §2 check order).
_LOOKUP_AND_COUNT = """
local e = redis.call('HMGET', KEYS[1], 'tombstone', 'counted', 'expires_at', 'rate_period', 'record')
if not e[1] or e[1] == '1' then return {false, 0, 0} end
local now = tonumber(ARGV[1])
local exp = tonumber(e[3])
if e[2] ~= '1' or (exp > 0 and exp <= now) then return {e[5], 0, 0} end
local period = tonumber(e[4])
local window = now - (now % period)
local ck = KEYS[2] .. ':' .. window
local n = redis.call('INCR', ck)
if n == 1 then redis.call('EXPIRE', ck, period + 1) end
return {e[5], n, window + period - now}
"""

# KEYS[1] counter base; ARGV: now, period, n. Adds n to the window's count; returns {count, seconds left}.
_COUNT = """
local now = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local window = now - (now % period)
local ck = KEYS[1] .. ':' .. window
local n = redis.call('INCRBY', ck, tonumber(ARGV[3]))
if n == tonumber(ARGV[3]) then redis.call('EXPIRE', ck, period + 1) end
return {n, window + period - now}
"""

TOMBSTONE_TTL = 600


class KeyCache:
    """Key records in Redis; a no-op without Redis."""

    def __init__(self) -> None:
        self._pending: dict[str, int] = {}
        self._lock = threading.Lock()
        self._retry_thread: threading.Thread | None = None
        self._scripts: dict[tuple[str, int], Any] = {}
        # Parsed records by their JSON: a hit parses nothing (bounded; cleared when full).
        self._parsed: dict[bytes, KeyRecord] = {}
        self._enabled: bool | None = None

    @property
    def enabled(self) -> bool:
        if self._enabled is None:  # memoised: the cache proxy costs microseconds a look
            self._enabled = hasattr(cache, "raw_client")
        return self._enabled

    def _entry_key(self, digest: str) -> str:
        return f"{settings.CACHES['default'].get('KEY_PREFIX', 'parley')}:key:{digest}"

    def _counter_key(self, digest: str) -> str:
        return f"{settings.CACHES['default'].get('KEY_PREFIX', 'parley')}:rl:{digest}"

    def _script(self, name: str, source: str) -> Any:
        client = cache.raw_client()  # type: ignore[attr-defined]  # enabled
        script = self._scripts.get((name, id(client)))
        if script is None:  # one per client: settings changes (tests) swap the client
            script = self._scripts[(name, id(client))] = client.register_script(source)
        return script

    def lookup(self, digest: str, now: int) -> tuple[KeyRecord | None, tuple[int, int] | None]:
        """The cached record (or ``None``) and, if counted, ``(count, seconds_left)``.

        Raises one of ``REDIS_ERRORS`` when Redis is unreachable: the caller then
        reads the database.
        """
        self._check_reachable()
        try:
            reply = self._script("lookup", _LOOKUP_AND_COUNT)(
                keys=[self._entry_key(digest), self._counter_key(digest)], args=[now]
            )
        except REDIS_ERRORS as exc:
            cache.mark_down(exc)  # type: ignore[attr-defined]  # enabled
            raise
        return self._parse(reply)

    def count(self, digest: str, *, now: int, period: int, n: int) -> tuple[int, int]:
        """Add ``n`` requests to the key's count of this window: ``(count, seconds left)``.

        Raises one of ``REDIS_ERRORS`` (after marking Redis down) when it is unreachable.
        """
        if not cache.is_up:  # type: ignore[attr-defined]  # enabled
            raise ConnectionError("Redis marked down")
        try:
            count, left = self._script("count", _COUNT)(keys=[self._counter_key(digest)], args=[now, period, n])
        except REDIS_ERRORS as exc:
            cache.mark_down(exc)  # type: ignore[attr-defined]  # enabled
            raise
        return int(count), int(left)

    def _check_reachable(self) -> None:
        if not cache.is_up:  # type: ignore[attr-defined]  # enabled
            raise ConnectionError("Redis marked down")  # an OSError: one of REDIS_ERRORS
        # This process's own revocations reach Redis before it reads from it again.
        if self._pending and not self.flush_pending():
            raise ConnectionError("Pending revocations could not reach Redis")

    def _parse(self, reply: list[Any]) -> tuple[KeyRecord | None, tuple[int, int] | None]:
        raw, count, left = reply
        if raw is None:
            return None, None
        record = self._parsed.get(raw)
        if record is None:
            try:
                record = KeyRecord.from_json(raw)
            except (TypeError, ValueError):  # written by another release: read the database
                return None, None
            if len(self._parsed) >= 10_000:
                self._parsed.clear()
            self._parsed[raw] = record
        return record, ((int(count), int(left)) if count else None)

    def fill(self, digest: str, record: KeyRecord) -> None:
        try:
            self._script("write", _WRITE_IF_NEWER)(
                keys=[self._entry_key(digest)],
                args=[
                    record.cache_version,
                    settings.API_KEY_CACHE_TTL,
                    "fill",
                    record.to_json(),
                    "1" if record.reaches_rate_limit else "0",
                    repr(record.expires_at or 0),
                    record.rate_period,
                ],
            )
        except REDIS_ERRORS as exc:
            cache.mark_down(exc)  # type: ignore[attr-defined]  # enabled

    def invalidate(self, digest: str, version: int) -> None:
        """Store a tombstone of ``version``; kept and retried if Redis is unreachable."""
        if not self.enabled:
            return
        with self._lock:
            self._pending[digest] = max(version, self._pending.get(digest, 0))
        self.flush_pending()

    def flush_pending(self) -> bool:
        """Push every pending tombstone; True when none is left."""
        with self._lock:
            pending = dict(self._pending)
        for digest, version in pending.items():
            try:
                self._script("write", _WRITE_IF_NEWER)(
                    keys=[self._entry_key(digest)], args=[version, TOMBSTONE_TTL, "tomb"]
                )
                # The second command: Redis pushes a write's invalidations to every tracking
                # connection (apikeys.localcache) before it answers a later command, so once
                # this PING is answered, every process on this Redis drains them on its next request.
                cache.raw_client().ping()  # type: ignore[attr-defined]  # enabled
            except REDIS_ERRORS as exc:
                cache.mark_down(exc)  # type: ignore[attr-defined]  # enabled
                self._start_retry_thread()
                return False
            with self._lock:
                if self._pending.get(digest) == version:
                    del self._pending[digest]
        return True

    def _start_retry_thread(self) -> None:
        with self._lock:
            if self._retry_thread and self._retry_thread.is_alive():
                return
            self._retry_thread = threading.Thread(target=self._retry_loop, name="apikey-tombstones", daemon=True)
            self._retry_thread.start()

    def _retry_loop(self) -> None:
        while True:
            time.sleep(0.2)
            if not self.enabled:  # the cache is no longer Redis (settings changed): nothing to fence
                self.forget_pending()
                return
            if self.flush_pending():
                logger.info("Pending API key revocations reached Redis")
                return

    def has_pending(self) -> bool:
        return bool(self._pending)

    def forget_pending(self) -> None:
        """Drop pending tombstones (the test suite, between tests)."""
        with self._lock:
            self._pending.clear()


key_cache = KeyCache()


@receiver(setting_changed)
def _cache_settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "CACHES":  # the test suite swaps the cache
        key_cache._enabled = None
