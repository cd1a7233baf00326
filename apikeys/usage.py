"""The per-key request log, buffered: no database write on the request path (issue #19).

``record_request`` (called by ``apikeys.middleware.RequestLogMiddleware`` for every ``/api/v1/``
request made with a known key) appends an ``Entry`` (a tuple) to this process's buffer, a
list behind a lock: no I/O at all, not even for its id (``entry_ids``: a random per-process
prefix and a counter, a valid UUID). A thread of the process hands the buffer off every
``API_REQUEST_LOG_FLUSH_SECONDS`` (0.5 s) or as soon as ``API_REQUEST_LOG_BATCH`` (100)
entries wait, and once more when the process exits (``atexit``, gunicorn's ``worker_exit``):

- with Redis (``REDIS_URL``), to a Redis stream: one ``XADD`` per hand-off, its message a
  JSON array of up to 100 entries. The task worker (``manage.py db_worker``) drains the
  stream about once a second on a thread of its own (``drainer``, started by the first
  ``request_log_care`` the worker runs): ``XREADGROUP`` in one consumer group, ``store``,
  then ``XACK``/``XDEL``. Messages a consumer read and never acknowledged (it died, or the
  database refused the batch) are read again: its own at its next drain, a dead one's by
  another consumer's ``XAUTOCLAIM`` once idle for ``API_REQUEST_LOG_RECLAIM_SECONDS``. The
  drain thread runs at the lowest CPU priority (``API_REQUEST_LOG_DRAIN_NICE``, 19): storing
  the log is work that can wait, so on a host whose cores the web workers need it yields to
  them, falls behind (the stream holds what waits) and catches up when the load drops. It
  marks itself alive in Redis after every batch (``drainer_alive``); a web process drains
  only when no drain thread has been alive for ``API_REQUEST_LOG_DRAINER_ALIVE_SECONDS`` (30 s:
  no worker runs, or it is stuck) and the stream's oldest entry has waited
  ``API_REQUEST_LOG_FALLBACK_DRAIN_SECONDS`` (10 s), so entries never wait for a worker forever.
- without Redis, or when Redis does not answer at hand-off: ``store`` straight into the
  database (from the hand-off thread; a database that is down leaves the entries in the
  buffer for the next hand-off, up to ``MAX_BUFFERED`` of them).

What a SIGKILLed process loses is its buffer: at most ``API_REQUEST_LOG_FLUSH_SECONDS``
or ``API_REQUEST_LOG_BATCH`` entries. Storing is idempotent: ``entry_id`` is minted at
record time and unique, so a batch stored twice (read again after a consumer died
between storing and acknowledging) is stored once, and the counts that go with it
(``ApiKeyDailyUsage``, ``KeyNetwork.requests``) only count rows actually inserted.

``store`` also keeps ``last_used_at`` / ``last_used_ip`` (the latest use per key) and the
key's networks (an IPv4 /24, an IPv6 /48): a key's first use from a network it has not
used for ``KeyNetwork.NEW_AFTER`` writes an audit event and marks the network
``alert_pending``, which ``apikeys.reminders.key_network_alerts_send`` mails.

Where the cost went, before this design (profiled under ``bench/bench_keys.py
--concurrency 4``, gunicorn 2 workers, per-thread CPU from ``/proc/<pid>/task``): each web
worker's drain thread took 5 to 6 % of a core and its hand-off thread 1.5 % (building each
entry's JSON from a dataclass with ``asdict``: 17 µs an entry; one ``XADD`` per entry), the
middleware 21 µs a request in-process (``uuid4``'s ``os.urandom``, the dataclass), and
PostgreSQL 2 to 3 % of a core for the inserts (five indexes, a ``SELECT`` of every batch's ids
before inserting it). The drain threads also held the worker's GIL in the middle of its
requests. Now (same script, in-process) the middleware takes 11 µs a request and the hand-off
3 µs an entry, one ``XADD`` per hand-off; the storing runs in the task worker, a process of its
own. It was about 100 µs of wall time an entry (batches of 100: the ``ApiRequestLog`` models and
their compiled ``INSERT``, a ``get_or_create`` and an ``UPDATE`` per key and day, the last-used
``UPDATE``, three statements for the networks and ``ipaddress`` per entry); it is about 40 µs:
``COPY`` on PostgreSQL, one daily-usage upsert, no last-used ``UPDATE`` when the key as read is
fresh, one ``UPDATE`` per known network, ``network_of`` memoized.
"""

from __future__ import annotations

import atexit
import functools
import ipaddress
import itertools
import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

import redis.exceptions
from django.conf import settings
from django.core.cache import caches
from django.db import IntegrityError, close_old_connections, connection, connections, transaction
from django.db.models import F
from django.db.models.functions import Greatest

from accounts.actors import Actor
from accounts.services import audit_event_create
from apikeys.models import ApiKey, ApiKeyDailyUsage, ApiRequestLog, KeyNetwork
from core import process
from core.cache import REDIS_ERRORS, FailoverRedisCache
from core.conf import hot
from core.dbhealth import DATABASE_ERRORS, database_health
from core.errors import (
    ApiKeyExpired,
    ApiKeyRevoked,
    IpNotAllowed,
    MissingScope,
    OriginNotAllowed,
    PlanUpgradeRequired,
    RateLimited,
    WorkspaceInactive,
)

logger = logging.getLogger("parley.apikeys.usage")

# Entries a process keeps while nothing takes them (database and Redis both down); older go first.
MAX_BUFFERED = 50_000
# What the stream holds at most while nothing drains it (the database down for hours): a bound
# on Redis's memory. A message is one hand-off of at most API_REQUEST_LOG_BATCH (100) entries of
# about 300 bytes; the oldest go first.
STREAM_MAX_MESSAGES = 20_000
# The task worker's drain: every second, at most this many messages stored per transaction.
DRAIN_INTERVAL = 1.0
DRAIN_MESSAGES = 10
# How often a web process looks at the age of the stream's oldest entry (its fallback drain).
FALLBACK_CHECK_INTERVAL = 2.0
GROUP = "store"
WARN_INTERVAL = 60.0

# Refusals of a dead key: such a request is logged, but is no use of the key (last used) and
# does not make its network known.
DEAD_KEY_CODES = frozenset({ApiKeyRevoked.code, ApiKeyExpired.code})
# Refusals of the key checks: logged, but the key was not let in, so last used stays.
REFUSED_CODES = DEAD_KEY_CODES | {
    "permission_denied",  # a publishable key on /api/v1/
    IpNotAllowed.code,
    OriginNotAllowed.code,
    WorkspaceInactive.code,
    RateLimited.code,
    MissingScope.code,
    PlanUpgradeRequired.code,
}


class Entry(NamedTuple):
    """One recorded request (``logged``), or a use that only moves last used (the widget's keys).

    A tuple, made once per request and serialized as a JSON array: the cheapest thing to
    make on the request path and to hand off.
    """

    entry_id: str  # 32 hex digits (a UUID), unique: see _EntryIds
    key_id: int
    at: float  # unix seconds
    ip: str | None  # canonical (core.net.client_ip), or None
    logged: bool = True
    method: str = ""
    path: str = ""
    status: int = 0
    error_code: str = ""
    user_agent: str = ""
    duration_ms: float = 0.0
    request_id: str = ""

    @property
    def used(self) -> bool:
        """Whether the key checks let this request in (what ``last_used_at`` means)."""
        return self.error_code not in REFUSED_CODES


@functools.lru_cache(maxsize=4096)  # storing asks once per entry, and a key's clients are few
def network_of(ip: str) -> str | None:
    """``203.0.113.7`` → ``203.0.113.0/24``, ``2001:db8:1:2::5`` → ``2001:db8:1::/48``."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


class _EntryIds:
    """Entry ids without a system call per request: a random per-process prefix and a counter.

    The result is a valid version-4 UUID (version and variant bits set): 60 random bits
    drawn when the process starts (and again in a forked child), then a 62-bit counter,
    so two processes share a prefix with a chance of about n² / 2⁶¹ for n processes.
    """

    def __init__(self) -> None:
        self.renew()

    def renew(self) -> None:
        prefix = int.from_bytes(os.urandom(8)) & ~(0xF << 12) | (0x4 << 12)  # the version nibble: 4
        self._prefix = f"{prefix:016x}"
        self._counter = itertools.count()  # next() on it is atomic under the GIL

    def next(self) -> str:
        return f"{self._prefix}{(1 << 63) | (next(self._counter) & COUNTER_MASK):016x}"  # variant bits 10


COUNTER_MASK = (1 << 62) - 1
ENTRY_FIELDS = len(Entry._fields)
entry_ids = _EntryIds()


# --- recording (the request path: memory only)


class RequestLogBuffer:
    """This process's entries waiting for their hand-off, and the threads that move them."""

    def __init__(self) -> None:
        self._entries: list[Entry] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pid = 0
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._dropped = 0
        self._last_warning = -WARN_INTERVAL

    def add(self, entry: Entry) -> None:
        with self._lock:
            self._entries.append(entry)
            waiting = len(self._entries)
            if waiting > MAX_BUFFERED:
                self._bound()
        if waiting >= hot.API_REQUEST_LOG_BATCH and not self._wake.is_set():
            self._wake.set()
        if self._pid != process.pid and hot.API_REQUEST_LOG_BACKGROUND:
            self._start()

    def take(self) -> list[Entry]:
        with self._lock:
            entries, self._entries = self._entries, []
        return entries

    def put_back(self, entries: list[Entry]) -> None:
        """Entries whose hand-off failed go back in front, to be tried with the next one."""
        with self._lock:
            self._entries[:0] = entries
            self._bound()

    def _bound(self) -> None:  # with the lock held
        over = len(self._entries) - MAX_BUFFERED
        if over > 0:
            del self._entries[:over]
            self._dropped += over
            now = time.monotonic()
            if now - self._last_warning >= WARN_INTERVAL:
                self._last_warning = now
                logger.warning("Request log buffer full: %d entries dropped so far", self._dropped)

    def reset(self) -> None:
        """Forget what is buffered: a forked child must not store its parent's entries (nor a test another's)."""
        with self._lock:
            self._entries = []
        self._pid, self._threads = 0, []

    def _start(self) -> None:
        with self._lock:
            if self._pid == process.pid:
                return
            self._pid = process.pid
            self._stop = threading.Event()
            self._threads = [
                threading.Thread(target=self._hand_off_loop, name="parley-request-log", daemon=True),
                threading.Thread(target=self._fallback_drain_loop, name="parley-request-log-drain", daemon=True),
            ]
        for thread in self._threads:
            thread.start()

    def _hand_off_loop(self) -> None:
        stop = self._stop
        try:
            while not stop.is_set():
                self._wake.wait(settings.API_REQUEST_LOG_FLUSH_SECONDS)
                self._wake.clear()
                try:
                    close_old_connections()
                    flush(drain_after=False)
                except Exception:  # the thread must outlive any one failure
                    logger.exception("Request log hand-off failed")
        finally:
            connections.close_all()  # this thread's own

    def _fallback_drain_loop(self) -> None:
        """A web process drains only what no task worker takes (none runs, or it is stuck)."""
        stop = self._stop
        try:
            while not stop.wait(FALLBACK_CHECK_INTERVAL):
                try:
                    waited = oldest_waiting_seconds() >= settings.API_REQUEST_LOG_FALLBACK_DRAIN_SECONDS
                    if waited and not drainer_alive():
                        close_old_connections()
                        if database_health.is_up():
                            drain()
                except Exception:
                    logger.exception("Request log drain failed")
        finally:
            connections.close_all()

    def stop(self) -> None:
        """Stop this process's threads after a last hand-off (a test that started them does)."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=10)
        flush(drain_after=False)
        self._pid, self._threads = 0, []

    def after_fork(self) -> None:
        """In a forked child: a lock another thread of the parent held stays held here, so make new ones."""
        self._lock, self._wake = threading.Lock(), threading.Event()
        self.reset()


buffer = RequestLogBuffer()


def _after_fork() -> None:
    buffer.after_fork()
    drainer.after_fork()
    entry_ids.renew()


# ``Entry`` made from a tuple of all its fields by ``tuple.__new__`` in C, as ``Entry._make`` does:
# the namedtuple's own constructor is a Python function, called on every logged request.
_entry = functools.partial(tuple.__new__, Entry)
_PATH_KEPT, _USER_AGENT_KEPT = ApiRequestLog.MAX_PATH_LENGTH, ApiRequestLog.MAX_USER_AGENT_LENGTH


def record_request(
    key_id: int,
    method: str,
    path: str,
    status: int,
    error_code: str,
    ip: str,
    user_agent: str,
    duration_ms: float,
    request_id: str,
) -> None:
    """Buffer one logged request (no I/O), its fields cut to what the log's columns hold."""
    fields = (
        entry_ids.next(), key_id, time.time(), ip or None, True, method[:10], path[:_PATH_KEPT], status,
        error_code[:64], user_agent[:_USER_AGENT_KEPT], round(duration_ms, 2), request_id[:64],
    )  # fmt: skip
    buffer.add(_entry(fields))


def key_used(*, key_id: int, ip: str) -> None:
    """A use outside ``/api/v1/`` (a widget's publishable key): it moves last used, and is not logged."""
    if hot.API_REQUEST_LOG:
        buffer.add(Entry(entry_ids.next(), key_id, time.time(), ip or None, False))


# --- the hand-off


def _redis() -> FailoverRedisCache | None:
    cache = caches["default"]
    return cache if isinstance(cache, FailoverRedisCache) else None


def stream_enabled() -> bool:
    return _redis() is not None


def stream_name() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:apikeys:request-log"


def flush(*, drain_after: bool = True) -> int:
    """Hand off what this process buffered, now; then (with Redis) drain the stream until empty.

    Returns how many entries left the buffer. The hand-off thread calls it every 0.5 s
    (without the drain); the test suite calls it to see the log at once.
    """
    entries = buffer.take()
    if entries:
        _hand_off(entries)
    if drain_after and stream_enabled():
        drain()
    return len(entries)


# Made once, and without the cycle check (an entry holds only strings and numbers): a quarter
# less of the hand-off's encoding, which runs on a thread of the web process.
_BATCH_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)


def encode_batch(entries: Sequence[Entry]) -> str:
    """Stream messages carry a batch each: one JSON array of the entries' arrays."""
    return _BATCH_ENCODER.encode(entries)


def decode_message(fields: dict[Any, Any]) -> list[Entry]:
    """The entries of one stream message (``TypeError``/``ValueError`` when it is not ours)."""
    raw = fields.get(b"b") or fields.get("b")
    if raw is not None:
        # ``_make`` is ``tuple.__new__``: a row with every field (as ``encode_batch`` writes them) needs no
        # Python-level constructor; a shorter one (not ours) gets the defaults, or a ``TypeError``.
        return [Entry._make(row) if len(row) == ENTRY_FIELDS else Entry(*row) for row in json.loads(raw)]
    raw = fields.get(b"e") or fields.get("e")  # one entry as an object: the release before batches
    if raw is not None:
        return [Entry(**json.loads(raw))]
    raise ValueError("no request log entries in this message")


def _hand_off(entries: list[Entry]) -> None:
    cache = _redis()
    if cache is not None and cache.is_up:
        try:
            size = max(1, settings.API_REQUEST_LOG_BATCH)
            pipe = cache.raw_client().pipeline(transaction=False)
            for i in range(0, len(entries), size):
                pipe.xadd(
                    stream_name(),
                    {"b": encode_batch(entries[i : i + size])},
                    maxlen=STREAM_MAX_MESSAGES,
                    approximate=True,
                )
            pipe.execute()
            return
        except REDIS_ERRORS as exc:
            cache.mark_down(exc)  # and store them straight away: degrade, don't lose
    try:
        store(entries)
    except DATABASE_ERRORS as exc:
        database_health.mark_down(exc)
        buffer.put_back(entries)


# --- the drain (Redis)


class Drainer:
    """The task worker's drain thread: started by the first ``request_log_care`` the process runs."""

    def __init__(self) -> None:
        self._pid = 0
        self._lock = threading.Lock()

    def ensure_started(self) -> bool:
        """Start this process's drain thread unless it runs; ``True`` when it was started."""
        if not (settings.API_REQUEST_LOG_BACKGROUND and stream_enabled()):
            return False
        with self._lock:
            if self._pid == os.getpid():
                return False
            self._pid = os.getpid()
        # A thread inherits the niceness of the thread that starts it: the database health
        # monitor is started here, at the worker's priority, not later from the drain thread.
        database_health.is_up()
        threading.Thread(target=self._loop, name="parley-request-log-drain", daemon=True).start()
        return True

    def _loop(self) -> None:
        lower_thread_priority(settings.API_REQUEST_LOG_DRAIN_NICE)
        try:
            while True:
                time.sleep(DRAIN_INTERVAL)
                try:
                    close_old_connections()
                    if database_health.is_up():
                        mark_drainer_alive()
                        drain(heartbeat=True)
                except Exception:  # the thread must outlive any one failure
                    logger.exception("Request log drain failed")
        finally:
            connections.close_all()

    def after_fork(self) -> None:
        self._lock = threading.Lock()
        self._pid = 0


drainer = Drainer()
os.register_at_fork(after_in_child=_after_fork)


def lower_thread_priority(nice: int) -> None:
    """Give the calling thread the niceness ``nice`` (Linux: a thread's own; elsewhere nothing)."""
    if nice <= 0 or sys.platform != "linux":
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except OSError:
        logger.warning("Could not lower the request log drain thread's priority")


def drainer_key() -> str:
    return f"{stream_name()}:drainer"


def mark_drainer_alive() -> None:
    """The drain thread says it is alive (and making progress): web processes leave the stream to it."""
    cache = _redis()
    if cache is None or not cache.is_up:
        return
    try:
        _mark_alive(cache.raw_client())
    except REDIS_ERRORS as exc:
        cache.mark_down(exc)


def _mark_alive(client: Any) -> None:  # a client or a pipeline
    client.set(drainer_key(), consumer_name(), px=int(settings.API_REQUEST_LOG_DRAINER_ALIVE_SECONDS * 1000))


def drainer_alive() -> bool:
    """Whether a task worker's drain thread marked itself alive lately (``False`` without Redis)."""
    cache = _redis()
    if cache is None or not cache.is_up:
        return False
    try:
        return bool(cache.raw_client().exists(drainer_key()))
    except REDIS_ERRORS as exc:
        cache.mark_down(exc)
        return False


def oldest_waiting_seconds() -> float:
    """How long the oldest entry in the stream has waited (0 when it is empty, or without Redis)."""
    cache = _redis()
    if cache is None or not cache.is_up:
        return 0.0
    try:
        oldest = cache.raw_client().xrange(stream_name(), count=1)
    except REDIS_ERRORS as exc:
        cache.mark_down(exc)
        return 0.0
    if not oldest:
        return 0.0
    added_ms = int(_decode(oldest[0][0]).split("-")[0])
    return max(0.0, time.time() - added_ms / 1000)


_consumer: tuple[int, str] = (0, "")


def consumer_name() -> str:
    """This process's name in the consumer group: host, pid and a random tail (pids are reused)."""
    global _consumer  # one name per process, made again after a fork
    if _consumer[0] != os.getpid():
        _consumer = (os.getpid(), f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}")
    return _consumer[1]


def drain(*, consumer: str | None = None, heartbeat: bool = False) -> int:
    """Store what waits in the stream: this consumer's unacknowledged entries first, then dead
    consumers' idle ones (``XAUTOCLAIM``), then new ones; returns how many entries were acknowledged.

    ``heartbeat``: the drain thread's call, which marks itself alive after every batch (a long
    backlog, stored at low priority, must not look like a stuck worker)."""
    cache = _redis()
    if cache is None:
        return 0
    consumer = consumer or consumer_name()
    client = cache.raw_client()
    stream = stream_name()
    done = 0
    try:
        _ensure_group(client, stream)
        done += _drain_from(client, stream, consumer, "0", heartbeat=heartbeat)
        idle_ms = int(settings.API_REQUEST_LOG_RECLAIM_SECONDS * 1000)
        start: str | bytes = "0-0"
        while True:
            start, claimed, _ = client.xautoclaim(stream, GROUP, consumer, idle_ms, start, count=DRAIN_MESSAGES)
            done += _store_and_ack(client, stream, claimed, heartbeat=heartbeat)
            if _decode(start) == "0-0" or not claimed:
                break
        done += _drain_from(client, stream, consumer, ">", heartbeat=heartbeat)
    except REDIS_ERRORS as exc:
        cache.mark_down(exc)
    except DATABASE_ERRORS as exc:  # left unacknowledged: read again at the next drain
        database_health.mark_down(exc)
    return done


def _ensure_group(client: Any, stream: str) -> None:
    try:
        client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    except redis.exceptions.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _drain_from(client: Any, stream: str, consumer: str, start: str, *, heartbeat: bool) -> int:
    done = 0
    while True:
        answer = client.xreadgroup(GROUP, consumer, {stream: start}, count=DRAIN_MESSAGES)
        messages = answer[0][1] if answer else []
        if not messages:
            return done
        done += _store_and_ack(client, stream, messages, heartbeat=heartbeat)


def _decode(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _store_and_ack(
    client: Any, stream: str, messages: Sequence[tuple[Any, dict[Any, Any]]], *, heartbeat: bool = False
) -> int:
    ids = [message_id for message_id, _ in messages]
    entries: list[Entry] = []
    for message_id, fields in messages:
        if not fields:  # deleted from the stream while still pending: stored already
            continue
        try:
            entries += decode_message(fields)
        except (TypeError, ValueError):  # not ours (another release's format): acknowledged and dropped
            logger.warning("Dropping an unreadable request log message %s", _decode(message_id))
    if entries:
        store(entries)  # a database error leaves them unacknowledged: read again at the next drain
    if ids:
        pipe = client.pipeline(transaction=False)
        pipe.xack(stream, GROUP, *ids)
        pipe.xdel(stream, *ids)
        if heartbeat:
            _mark_alive(pipe)
        pipe.execute()
    return len(entries)


# --- storing a batch (the database)


def store(entries: Iterable[Entry]) -> int:
    """Store a batch, each entry once; returns how many log rows it inserted.

    Entries already stored (same ``entry_id``) and entries of keys that no longer exist are
    skipped, in the same transaction that counts the rows it inserts, so the daily counts
    and network counters agree with the log. A batch is first inserted as it is (the usual
    case: none of it is stored yet); only when that meets the unique ``entry_id`` (a batch
    read again after a consumer died between storing and acknowledging, or stored by two
    processes at once) is it tried again, skipping the ids already present.
    """
    batch = list(entries)
    for attempt in range(3):
        try:
            with transaction.atomic():
                return _store(batch, dedupe=attempt > 0)
        except IntegrityError:
            if attempt == 2:
                raise
    return 0  # unreachable: the last attempt returns or raises


def _store(entries: list[Entry], *, dedupe: bool) -> int:
    present: set[str] = set()
    if dedupe:
        present = {
            entry_id.hex
            for entry_id in ApiRequestLog.objects.filter(
                entry_id__in=[e.entry_id for e in entries if e.logged]
            ).values_list("entry_id", flat=True)
        }
    # The workspace is read only for a new network's audit event (rare): no join per batch.
    keys = {key.pk: key for key in ApiKey.objects.filter(pk__in={e.key_id for e in entries})}
    fresh = [e for e in entries if e.key_id in keys and not (e.logged and e.entry_id in present)]
    logged = [e for e in fresh if e.logged]
    _insert_logs(logged)
    _count_days(logged)
    _mark_last_used([e for e in fresh if e.used], keys)
    _track_networks(logged, keys)
    return len(logged)


LOG_COLUMNS = (
    "entry_id", "api_key_id", "created_at", "method", "path", "status", "error_code", "ip", "user_agent",
    "duration_ms", "request_id",
)  # fmt: skip


def _insert_logs(entries: list[Entry]) -> None:
    """The log rows: one ``COPY`` on PostgreSQL (a third of the cost of ``bulk_create``'s models and
    compiled ``INSERT``), ``bulk_create`` elsewhere. A duplicate ``entry_id`` raises Django's
    ``IntegrityError`` either way (``wrap_database_errors``), which ``store`` retries with dedupe."""
    if not entries:
        return
    if connection.vendor != "postgresql":
        ApiRequestLog.objects.bulk_create(
            ApiRequestLog(**dict(zip(LOG_COLUMNS, _log_row(e), strict=True))) for e in entries
        )
        return
    table = connection.ops.quote_name(ApiRequestLog._meta.db_table)
    sql = f"COPY {table} ({', '.join(LOG_COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for e in entries:
            copy.write_row(_log_row(e))


def _log_row(e: Entry) -> tuple[Any, ...]:
    return (
        e.entry_id, e.key_id, _when(e.at), e.method, e.path, e.status, e.error_code, e.ip,
        e.user_agent, e.duration_ms, e.request_id,
    )  # fmt: skip


def _when(at: float) -> datetime:
    return datetime.fromtimestamp(at, tz=UTC)


def _count_days(entries: list[Entry]) -> None:
    counts: dict[tuple[int, date], list[int]] = {}
    days: dict[int, date] = {}  # UTC days since the epoch → the date: one datetime a day, not one an entry
    for e in entries:
        number = int(e.at // 86400)
        day = days.get(number)
        if day is None:
            day = days[number] = _when(number * 86400).date()
        row = counts.get((e.key_id, day))
        if row is None:
            row = counts[e.key_id, day] = [0, 0]
        row[0 if e.status < 400 else 1] += 1
    if not counts:
        return
    # One upsert for the batch (PostgreSQL and SQLite both have ON CONFLICT ... DO UPDATE), in
    # (key, day) order so two processes storing at once take the rows' locks in the same order.
    table = connection.ops.quote_name(ApiKeyDailyUsage._meta.db_table)
    rows = sorted(counts.items())
    for i in range(0, len(rows), DAILY_ROWS_PER_STATEMENT):
        chunk = rows[i : i + DAILY_ROWS_PER_STATEMENT]
        sql = (
            f"INSERT INTO {table} (api_key_id, day, successes, errors) VALUES "  # noqa: S608  # our table's name, quoted; the values are parameters
            + ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
            + " ON CONFLICT (api_key_id, day) DO UPDATE SET"
            f" successes = {table}.successes + EXCLUDED.successes, errors = {table}.errors + EXCLUDED.errors"
        )
        params = [
            value
            for (key_id, day), (successes, errors) in chunk
            for value in (key_id, connection.ops.adapt_datefield_value(day), successes, errors)
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


# Rows of one daily-usage upsert: 4 parameters each, well under SQLite's 32,766.
DAILY_ROWS_PER_STATEMENT = 500


def _mark_last_used(entries: list[Entry], keys: dict[int, ApiKey]) -> None:
    latest: dict[int, Entry] = {}
    for e in entries:
        if e.key_id not in latest or e.at > latest[e.key_id].at:
            latest[e.key_id] = e
    for key_id, e in latest.items():
        when = _when(e.at)
        # At most once a minute per key (SPEC §2), whichever process stores the batch. The key as
        # this batch read it already tells the usual case (written less than a minute ago): no UPDATE.
        current = keys[key_id].last_used_at
        if current is not None and current > when - ApiKey.LAST_USED_WRITE_INTERVAL:
            continue
        ApiKey.objects.filter(pk=key_id).exclude(last_used_at__gt=when - ApiKey.LAST_USED_WRITE_INTERVAL).update(
            last_used_at=when, last_used_ip=e.ip
        )


@dataclass
class _Seen:
    first: float
    last: float
    requests: int
    ip: str


def _track_networks(entries: list[Entry], keys: dict[int, ApiKey]) -> None:
    # First by (key, address): a batch holds few of them, so the network is worked out once each.
    by_ip: dict[tuple[int, str], list[float]] = {}  # [first, last, requests]
    for e in entries:
        if not e.ip or e.error_code in DEAD_KEY_CODES:  # a dead key's refusals make no network known
            continue
        at = e.at
        span = by_ip.get((e.key_id, e.ip))
        if span is None:
            by_ip[e.key_id, e.ip] = [at, at, 1]
            continue
        if at < span[0]:
            span[0] = at
        if at > span[1]:
            span[1] = at
        span[2] += 1
    seen: dict[tuple[int, str], _Seen] = {}
    for (key_id, ip), (earliest, latest, requests) in by_ip.items():
        network = network_of(ip)
        if network is None:
            continue
        known = seen.get((key_id, network))
        if known is None:
            seen[key_id, network] = _Seen(first=earliest, last=latest, requests=int(requests), ip=ip)
        else:
            if earliest < known.first:  # the earliest address of the network is the one an alert names
                known.first, known.ip = earliest, ip
            known.last, known.requests = max(known.last, latest), known.requests + int(requests)
    # The usual case, a network the key used lately: one UPDATE per (key, network), no read.
    for (key_id, network), s in list(seen.items()):
        if KeyNetwork.objects.filter(
            api_key_id=key_id, network=network, last_seen__gte=_when(s.first) - KeyNetwork.NEW_AFTER
        ).update(last_seen=Greatest(F("last_seen"), _when(s.last)), requests=F("requests") + s.requests):
            del seen[key_id, network]
    if not seen:
        return
    rows = {
        (n.api_key_id, n.network): n
        for n in KeyNetwork.objects.select_for_update().filter(
            api_key_id__in={k for k, _ in seen}, network__in={n for _, n in seen}
        )
    }
    known_keys = set(
        KeyNetwork.objects.filter(api_key_id__in={k for k, _ in seen}).values_list("api_key_id", flat=True)
    )
    for (key_id, network), s in sorted(seen.items(), key=lambda item: item[1].first):
        row = rows.get((key_id, network))
        first, last = _when(s.first), _when(s.last)
        if row is not None and row.last_seen >= first - KeyNetwork.NEW_AFTER:
            KeyNetwork.objects.filter(pk=row.pk).update(
                last_seen=Greatest(F("last_seen"), last), requests=F("requests") + s.requests
            )
            continue
        key = keys[key_id]
        # A key with no network on record (new, or unused for KeyNetwork.NEW_AFTER) has nothing to
        # compare with: its first network is where it runs, and is not alerted.
        alert = key_id in known_keys
        if row is None:
            KeyNetwork.objects.create(
                api_key_id=key_id, network=network, first_seen=first, last_seen=last, requests=s.requests,
                alert_pending=alert,
            )  # fmt: skip
        else:  # seen before, but not for KeyNetwork.NEW_AFTER: new again
            KeyNetwork.objects.filter(pk=row.pk).update(
                first_seen=first, last_seen=last, requests=F("requests") + s.requests, alert_pending=alert
            )
        known_keys.add(key_id)
        if alert:
            audit_event_create(
                action="api_key.new_network",
                workspace=key.workspace,
                actor=Actor.for_api_key(key_id=key_id, hint=key.hint, ip=s.ip),
                target=key,
                target_label=key.hint,
                details={"network": network, "ip": s.ip},
            )


# --- retention


PRUNE_CHUNK = 5_000


def request_log_prune(*, now: datetime | None = None) -> dict[str, int]:
    """Delete log rows and daily counts older than ``API_LOG_RETENTION_DAYS``, and networks not seen
    for ``KeyNetwork.NEW_AFTER``; in chunks, so no delete holds a long transaction. Returns the counts."""
    now = now or datetime.now(tz=UTC)
    cutoff = now - timedelta(days=settings.API_LOG_RETENTION_DAYS)
    return {
        "log_rows": _delete_in_chunks(ApiRequestLog.objects.filter(created_at__lt=cutoff)),
        "daily_rows": _delete_in_chunks(ApiKeyDailyUsage.objects.filter(day__lt=cutoff.date())),
        "networks": _delete_in_chunks(
            KeyNetwork.objects.filter(last_seen__lt=now - KeyNetwork.NEW_AFTER, alert_pending=False)
        ),
    }


def _delete_in_chunks(queryset: Any) -> int:
    deleted = 0
    while True:
        chunk = list(queryset.values_list("pk", flat=True)[:PRUNE_CHUNK])
        if not chunk:
            return deleted
        deleted += queryset.model.objects.filter(pk__in=chunk).delete()[0]


# --- at exit


def flush_at_exit() -> None:
    """The process ends: hand off what is buffered (atexit; gunicorn's ``worker_exit``)."""
    try:
        flush(drain_after=False)
    except Exception:
        logger.exception("Request log entries could not be handed off at exit")


atexit.register(flush_at_exit)
