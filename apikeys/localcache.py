"""Key records kept in each process, invalidated by Redis itself (SPEC §2 "the very next request").

A warm request trusts a record held in the process's memory and makes no round
trip. What makes that safe is Redis' server-assisted client-side caching: one
connection per process (RESP3) runs ``CLIENT TRACKING ON BCAST PREFIX <prefix>:key:``,
so every write to any key entry — a tombstone of a revoke, roll or plan/status
change, a fill, an expiry, a ``FLUSHDB`` — makes Redis push an ``invalidate``
message to every tracking connection. Before a request trusts its local record it
drains, without blocking, what that socket holds (a ``recv`` that returns at once,
not a round trip) and forgets every key named there.

Why "the very next request" holds: a writer that changes a key entry sends a second
command (``PING``) once its write is answered (``apikeys.cache``); Redis sends the
invalidation messages of a write before it answers any later command, so when the
writer returns, the messages are in every tracking connection's socket on that
Redis host. A request that starts after that drains them first.

A process trusts nothing local unless its tracking connection is healthy *now*:
connected, tracking switched on since the last (re)connection (everything held from
before is dropped at that moment: "resynchronised"), and a ``PONG`` to the
heartbeat (a ``PING`` every ``HEARTBEAT`` s from a thread) seen within ``STALE``
seconds, so a silent partition (no FIN) stops local trust within ``STALE``. While
it trusts nothing, requests take the shared-cache path (one Lua call, or the
database when Redis is unreachable) exactly as without this module, so SPEC §10's
partition rules hold unchanged. A record enters memory only as read from Redis
(never from the database), and only if no invalidation arrived between the read
and the store (``epoch``).
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import hiredis
from django.core.signals import setting_changed
from django.dispatch import receiver

from apikeys.cache import key_cache
from apikeys.records import KeyRecord
from core import process
from core.cache import REDIS_ERRORS, default_cache
from core.conf import hot
from core.metrics import fold_ticked

logger = logging.getLogger("parley.apikeys.localcache")

HEARTBEAT = 0.1  # seconds between PINGs on the tracking connection
STALE = 0.5  # no PONG for this long: trust nothing local
RECONNECT_AFTER = 1.0  # seconds between attempts to reconnect the tracking connection
MAX_RECORDS = 100_000  # a process holding more forgets them all and starts again


def entry_prefix() -> str:
    """The Redis key prefix of key entries, ``<cache prefix>:key:`` (see ``apikeys.cache``)."""
    return f"{hot.CACHES['default'].get('KEY_PREFIX', 'parley')}:key:"


def _command(*parts: str | bytes) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class LocalKeys:
    """This process's key records and its tracking connection to Redis."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, KeyRecord] = {}
        self._sock: socket.socket | None = None
        self._readable = select.poll()  # the socket, registered: poll(0) asks "anything to read?"
        self._reader: Any = None
        self._synced = False
        self._last_pong = 0.0
        self._epoch = 0
        self._pid = 0
        self._thread: threading.Thread | None = None
        self._prefix = b""
        self._location = ""
        self._retry_at = 0.0

    @property
    def enabled(self) -> bool:
        return bool(hot.API_KEY_LOCAL_CACHE) and key_cache.enabled

    # --- the request path ---------------------------------------------------------

    def poll(self) -> int | None:
        """Drain the invalidations; the epoch to pass to ``store``, or ``None``: trust nothing local."""
        if self._pid != process.pid or not self._location:  # a new process, or the settings changed
            self._start()
            return None
        with self._lock:
            if self._sock is None or not self._synced:
                return None
            if self._readable.poll(0):  # one system call when nothing waits, as usual
                self._drain()
            if not self._synced or time.monotonic() - self._last_pong > STALE:
                return None
            if key_cache.has_pending() or not default_cache().is_up:  # type: ignore[attr-defined]  # FailoverRedisCache
                return None  # this process's own revocations have not reached Redis yet
            return self._epoch

    def get(self, digest: str) -> KeyRecord | None:
        return self._records.get(digest)

    def store(self, digest: str, record: KeyRecord, epoch: int) -> None:
        """Keep ``record`` (as read from Redis) unless something was invalidated since ``epoch``."""
        with self._lock:
            if not self._synced or self._epoch != epoch:
                return
            if len(self._records) >= MAX_RECORDS:
                self._records.clear()
            self._records[digest] = record

    def trusted(self) -> bool:
        """Whether a request would trust local records now (``/readyz``-style introspection, tests)."""
        return self.poll() is not None

    # --- the connection -----------------------------------------------------------

    @staticmethod
    def _tracking_url() -> str:
        return str(hot.API_KEY_TRACKING_URL or hot.CACHES["default"]["LOCATION"])

    def _start(self) -> None:
        """First use in this process (or after a fork, or a settings change): start the heartbeat."""
        with self._lock:
            if self._pid == process.pid and self._location == self._tracking_url():
                return
            self._close_locked()
            self._pid = process.pid
            self._location = self._tracking_url()
            self._prefix = entry_prefix().encode()
            thread = self._thread = threading.Thread(target=self._heartbeat, name="apikey-tracking", daemon=True)
        thread.start()

    def _heartbeat(self) -> None:
        me = threading.current_thread()
        while self._thread is me and self._pid == process.pid:
            with self._lock:
                if not self.enabled or self._location != self._tracking_url():  # settings changed (tests)
                    self._close_locked()
                    self._pid, self._thread = 0, None
                    return
                if self._sock is None:
                    connect = time.monotonic() >= self._retry_at
                else:
                    connect = False
                    self._send(_command("PING"))
                    self._drain()
            if connect:
                self._connect()
            fold_ticked()  # the local-lookup metric (core.metrics.TickedCounter), on this beat
            time.sleep(HEARTBEAT)

    def _connect(self) -> None:
        url = urlsplit(self._location)
        sock = None
        try:
            sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 6379), timeout=0.2)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            reader = hiredis.Reader()
            hello = [b"HELLO", b"3"]
            if url.password:
                hello += [b"AUTH", (url.username or "default").encode(), url.password.encode()]
            sock.sendall(
                _command(*hello) + _command("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", self._prefix.decode())
            )
            replies: list[Any] = []
            while len(replies) < 2:
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError("Redis closed the tracking connection")
                reader.feed(data)
                while (reply := reader.gets()) is not False:
                    if isinstance(reply, Exception):
                        raise ConnectionError(str(reply))
                    replies.append(reply)
            sock.setblocking(False)
        except REDIS_ERRORS:  # off the request path: retry in a second, trusting nothing meanwhile
            if sock is not None:
                sock.close()
            self._retry_at = time.monotonic() + RECONNECT_AFTER
            return
        with self._lock:
            self._close_locked()
            self._sock, self._reader = sock, reader
            self._readable = select.poll()
            self._readable.register(sock, select.POLLIN)
            self._records.clear()  # what was held before tracking began is not vouched for
            self._epoch += 1
            self._last_pong = time.monotonic()
            self._synced = True
        logger.info("API key tracking connected")

    def _send(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)  # type: ignore[union-attr]  # callers check
        except OSError:
            self._close_locked()

    def _drain(self) -> None:
        """Read what the socket holds, without blocking; the lock is held.

        ``poll(0)`` first: one system call that tells "nothing to read" without the
        ``BlockingIOError`` a bare ``recv`` raises (a third of the cost, on every request)."""
        sock = self._sock
        while sock is not None and self._readable.poll(0):
            try:
                data = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self._close_locked()
                return
            if not data:  # Redis (or the path to it) closed the connection
                self._close_locked()
                return
            self._reader.feed(data)
            while (reply := self._reader.gets()) is not False:
                self._handle(reply)

    def _handle(self, reply: Any) -> None:
        if isinstance(reply, list) and reply and reply[0] == b"invalidate":
            self._epoch += 1
            names = reply[1]
            if names is None:  # FLUSHDB / FLUSHALL
                self._records.clear()
                return
            start = len(self._prefix)
            for name in names:
                self._records.pop(name[start:].decode(), None)
        elif reply == b"PONG":
            self._last_pong = time.monotonic()

    def _close_locked(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            logger.warning("API key tracking connection lost: local key records are not trusted")
        self._sock = None
        self._synced = False
        self._records.clear()
        self._epoch += 1

    def settings_changed(self) -> None:
        """Where to track (or whether to) may have changed: the next request starts again from ``_start``."""
        self._location = ""

    def forget(self) -> None:
        """Drop every record held (the test suite, between tests: their databases differ)."""
        with self._lock:
            self._records.clear()
            self._epoch += 1


local_keys = LocalKeys()


@receiver(setting_changed)
def _tracking_settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("CACHES", "API_KEY_TRACKING_URL", "API_KEY_LOCAL_CACHE"):
        local_keys.settings_changed()
