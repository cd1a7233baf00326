"""What the key pages show of a key's usage: the request log, the 30-day chart, the networks, the sparklines.

``apikeys.views`` calls these and passes their context to the templates
(``apikeys/_usage_*.html``); the permission is the page's (``KeyPageMixin``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from apikeys.charts import Sparkline, bar_chart, fill_days, sparklines
from apikeys.models import ApiKey
from apikeys.usage_selectors import (
    REQUESTS_SHOWN,
    STATUS_CLASSES,
    api_key_daily_usage,
    api_key_networks,
    api_key_recent_requests,
    api_keys_daily_usage,
    utc_today,
)

CHART_DAYS = 30
SPARKLINE_DAYS = 7
LOG_FILTERS = [("all", "All"), *((name, name) for name in STATUS_CLASSES)]


def status_filter(value: str | None) -> str:
    """The request log's ``?status=``: ``2xx``, ``4xx``, ``5xx``; anything else shows all."""
    return value if value in STATUS_CLASSES else "all"


def key_usage_context(*, key: ApiKey, status: str | None, now: datetime) -> dict[str, Any]:
    """The detail page's usage sections: three queries, whatever the traffic."""
    today = utc_today(now)
    chosen = status_filter(status)
    rows = api_key_daily_usage(key=key, since=today - timedelta(days=CHART_DAYS - 1))
    return {
        "usage_chart": bar_chart(fill_days(rows, last_day=today, days=CHART_DAYS)),
        "requests": api_key_recent_requests(key=key, status_class=chosen),
        "requests_shown": REQUESTS_SHOWN,
        "log_filter": chosen,
        "log_filters": LOG_FILTERS,
        "networks": list(api_key_networks(key=key)),
    }


def key_sparklines(*, keys: Sequence[ApiKey], now: datetime) -> dict[int, Sparkline]:
    """The last 7 UTC days of each key, by id: one query for all of them."""
    if not keys:
        return {}
    today = utc_today(now)
    counts = api_keys_daily_usage(keys=keys, since=today - timedelta(days=SPARKLINE_DAYS - 1))
    return sparklines(counts, key_ids=[key.pk for key in keys], last_day=today, days=SPARKLINE_DAYS)
