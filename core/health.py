"""``/readyz``: may a load balancer send this host traffic? (SPEC §10)

``database`` is probed with ``SELECT 1``; ``cache`` with a Redis ``PING`` (``local``
without Redis: the embedded default's per-process cache); ``tasks`` counts the
queued tasks that are due and how long the oldest has waited. Nothing here names a
version, host or address.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Min
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

from core.cache import REDIS_ERRORS
from core.dbhealth import DATABASE_ERRORS, database_health


def _database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DATABASE_ERRORS as exc:
        database_health.mark_down(exc)
        return False
    return True


def _cache() -> str:
    if not hasattr(cache, "raw_client"):
        return "local"
    try:
        cache.raw_client().ping()
    except REDIS_ERRORS as exc:
        cache.mark_down(exc)  # type: ignore[attr-defined]  # FailoverRedisCache, as raw_client says
        return "down"
    return "ok"


def task_queue() -> dict[str, Any]:
    now = timezone.now()
    ready = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
    waiting = [
        ready.filter(run_after=get_date_max()).aggregate(since=Min("enqueued_at"))["since"],
        ready.filter(run_after__lte=now).aggregate(since=Min("run_after"))["since"],
    ]
    oldest = min((since for since in waiting if since is not None), default=None)
    return {
        "queued": DBTaskResult.objects.ready().count(),
        "oldest_seconds": round((now - oldest).total_seconds(), 1) if oldest else 0,
    }


def readiness() -> tuple[int, dict[str, Any]]:
    """``(status code, body)``: 503 ``down`` without the database, 200 ``degraded`` without Redis."""
    database_ok = _database()
    cache_state = _cache()
    tasks = task_queue() if database_ok else None
    status = "down" if not database_ok else ("degraded" if cache_state == "down" else "ok")
    body = {"status": status, "database": "ok" if database_ok else "down", "cache": cache_state, "tasks": tasks}
    return (503 if status == "down" else 200), body
