"""Holding rows in an open PostgreSQL transaction, to line concurrent requests up for real.

A test inserts a row in a transaction of its own and keeps it open: a request that
inserts the same unique value waits on it (PostgreSQL's row lock), exactly as a
concurrent request's would. ``wait_for_lock_waiters`` says when the requests are
queued there; committing or rolling back lets them go. No code of ours is patched.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from tests.live import database_url


@contextmanager
def held_transaction() -> Iterator[psycopg.Connection]:
    """A connection in an open transaction (``commit()`` it, or it is rolled back at the end)."""
    with psycopg.connect(database_url().replace("postgres://", "postgresql://", 1)) as holder:
        try:
            yield holder
        finally:
            holder.rollback()


def wait_for_lock_waiters(count: int, timeout: float = 10) -> None:
    """Until ``count`` other sessions of this database wait on a lock."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url().replace("postgres://", "postgresql://", 1), autocommit=True) as watcher:
        while time.monotonic() < deadline:
            row = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).fetchone()
            if row and row[0] >= count:
                return
            time.sleep(0.05)
    raise AssertionError(f"{count} sessions never waited on a lock")
