"""Reads of a key's usage for the Settings → API Keys pages: one query each.

The tables are filled by the batches that store the request log (``apikeys.usage``);
these functions only read them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime

from django.db.models import QuerySet

from apikeys.models import ApiKey, ApiKeyDailyUsage, ApiRequestLog, KeyNetwork

# ?status= of the request log: the range of status codes each shows ("all": no filter).
STATUS_CLASSES: dict[str, tuple[int, int]] = {"2xx": (200, 299), "4xx": (400, 499), "5xx": (500, 599)}
REQUESTS_SHOWN = 100
NETWORKS_SHOWN = 100

DayRow = tuple[date, int, int]  # (UTC day, successes, errors)


def utc_today(now: datetime) -> date:
    return now.astimezone(UTC).date()


def api_key_recent_requests(*, key: ApiKey, status_class: str = "all") -> list[ApiRequestLog]:
    """The key's last ``REQUESTS_SHOWN`` requests, newest first; ``status_class`` one of ``STATUS_CLASSES`` or all."""
    logs = ApiRequestLog.objects.filter(api_key=key)
    if status_class in STATUS_CLASSES:
        low, high = STATUS_CLASSES[status_class]
        logs = logs.filter(status__gte=low, status__lte=high)
    return list(logs.order_by("-created_at", "-id")[:REQUESTS_SHOWN])


def api_key_daily_usage(*, key: ApiKey, since: date) -> list[DayRow]:
    """``(day, successes, errors)`` of the key's days from ``since`` on (days without traffic have no row)."""
    rows = ApiKeyDailyUsage.objects.filter(api_key=key, day__gte=since).order_by("day")
    return list(rows.values_list("day", "successes", "errors"))


def api_keys_daily_usage(*, keys: Iterable[ApiKey], since: date) -> dict[int, list[DayRow]]:
    """The same for many keys at once (the list's sparklines), by key id: one query for the page."""
    by_key: dict[int, list[DayRow]] = defaultdict(list)
    rows = ApiKeyDailyUsage.objects.filter(api_key__in=[key.pk for key in keys], day__gte=since).order_by("day")
    for key_id, day, successes, errors in rows.values_list("api_key_id", "day", "successes", "errors"):
        by_key[key_id].append((day, successes, errors))
    return dict(by_key)


def api_key_networks(*, key: ApiKey) -> QuerySet[KeyNetwork]:
    """The networks the key was used from, last seen first (at most ``NETWORKS_SHOWN``)."""
    return KeyNetwork.objects.filter(api_key=key).order_by("-last_seen", "-id")[:NETWORKS_SHOWN]
