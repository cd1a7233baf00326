"""Each process's view of the database's health, so every credential gets 503 while it is down (SPEC §10).

A request whose API key is in Redis never touches PostgreSQL, yet must answer 503
while PostgreSQL is unreachable: Parley cannot promise a key is still live (or log,
or write) without it. Asking the database on every such request would cost the hot
path a round trip, so a process remembers what it last learned — from a database
error anywhere (``mark_down``), or from a ``SELECT 1`` probe made at most once per
``PROBE_INTERVAL`` by the request that finds the last answer too old. Between
probes the answer is a memory read. A dead database is noticed within a second
plus the connect timeout (2 s), and a recovered one within a second of its return,
without a restart: Django reconnects (``CONN_HEALTH_CHECKS``) on the next query.
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import DatabaseError, InterfaceError, OperationalError, connection

logger = logging.getLogger("parley.database")

DATABASE_ERRORS = (OperationalError, InterfaceError)
PROBE_INTERVAL = 1.0


class DatabaseHealth:
    def __init__(self) -> None:
        self._up = True
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def mark_down(self, exc: BaseException) -> None:
        """A query failed: the database is down for this process until a probe says otherwise."""
        if self._up:
            logger.warning("Database unreachable: %s", type(exc).__name__)
        self._up, self._checked_at = False, time.monotonic()

    def is_up(self) -> bool:
        """The last answer, probing again when it is older than ``PROBE_INTERVAL``."""
        if time.monotonic() - self._checked_at < PROBE_INTERVAL:
            return self._up
        if not self._lock.acquire(blocking=False):  # another thread of this process is probing
            return self._up
        try:
            self._probe()
        finally:
            self._lock.release()
        return self._up

    def _probe(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except DatabaseError as exc:
            if isinstance(exc, DATABASE_ERRORS):
                self.mark_down(exc)  # Django drops the broken connection at the request's end
                return
            raise
        if not self._up:
            logger.warning("Database reachable again")
        self._up, self._checked_at = True, time.monotonic()


database_health = DatabaseHealth()
