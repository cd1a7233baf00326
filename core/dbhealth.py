"""Each process's view of the database's health, so every credential gets 503 while it is down (SPEC §10).

A request whose API key is in Redis never touches PostgreSQL, yet must answer 503
while PostgreSQL is unreachable: Parley cannot promise a key is still live (or log,
or write) without it. The request path only reads what the process knows: a monitor
thread (one per process, started by the first question, again after a fork) runs
``SELECT 1`` every ``PROBE_INTERVAL`` on a connection of its own, and any database
error a request meets marks the database down at once (``mark_down``). So a cached
key costs no query at all, a dead database is noticed within a second (plus the 2 s
connect timeout of a blackholed one), and a recovered one within a second, without a
restart: Django reconnects (``CONN_HEALTH_CHECKS``) on the next query.

Other apps add work to the monitor's beat with ``on_tick`` (the API key cache replays
recent revocations there); ticks run only while the database answers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.db import InterfaceError, OperationalError, connection

from core import process

logger = logging.getLogger("parley.database")

DATABASE_ERRORS = (OperationalError, InterfaceError)
PROBE_INTERVAL = 1.0


# SQLSTATEs of errors the database answered with: it is up (class 40: transaction rollback —
# deadlock, serialization failure; 55P03 lock_not_available; 57014 query_canceled, a timeout).
ANSWERED_CLASSES = ("40",)
ANSWERED_CODES = frozenset({"55P03", "57014"})


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means the database cannot be reached (not merely that it refused one transaction)."""
    cause = exc.__cause__ or exc
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if not code:
        return True  # no answer at all: a connection refused, reset or timed out
    return not (code.startswith(ANSWERED_CLASSES) or code in ANSWERED_CODES)


class DatabaseHealth:
    def __init__(self) -> None:
        self._up = True
        self._ticks: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._stop = threading.Event()
        self._running = False  # the monitor thread of self._pid runs (cleared as it ends)

    def on_tick(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the monitor's thread after every probe that succeeded."""
        self._ticks.append(callback)

    def mark_down(self, exc: BaseException) -> None:
        """A query failed: the database is down for this process until the next probe says otherwise.

        Unless the database answered: a deadlock, a serialization failure, a lock or
        statement timeout (``is_outage``) is one transaction's bad luck, not an outage, and
        must not turn every request of the process into a 503.
        """
        if not is_outage(exc):
            return
        if self._up:
            logger.warning("Database unreachable: %s", type(exc).__name__)
        self._up = False

    def is_up(self) -> bool:
        """What the process knows now: a memory read, never a query."""
        # Every keyed request asks: two attribute reads (Thread.is_alive() costs more than the check).
        if not self._running or self._pid != process.pid:
            self._ensure_monitor()
        return self._up

    def _ensure_monitor(self) -> None:
        with self._lock:
            if self._pid == process.pid and self._thread is not None and self._thread.is_alive():
                self._running = True
                return
            self._stop.clear()
            self._pid = process.pid
            self._running = True
            self._thread = threading.Thread(target=self._run, name="parley-database-health", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                if self._probe():
                    self._tick()
                if self._stop.wait(PROBE_INTERVAL):
                    return
        finally:
            self._running = False
            connection.close()

    def _probe(self) -> bool:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except DATABASE_ERRORS as exc:
            self.mark_down(exc)
            connection.close()  # the next probe connects afresh
            return False
        except Exception:  # not an outage (the test suite forbids the database to some tests): no verdict
            logger.debug("Database probe could not run", exc_info=True)
            return False
        if not self._up:
            logger.warning("Database reachable again")
        self._up = True
        return True

    def _tick(self) -> None:
        for callback in self._ticks:
            try:
                callback()
            except Exception:  # one failing tick must not stop the monitor
                logger.exception("Database monitor tick %s failed", getattr(callback, "__qualname__", callback))

    def stop(self) -> None:
        """Stop the monitor and close its connection (the test suite does, before dropping its database)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout=5)
        self._thread = None


database_health = DatabaseHealth()
