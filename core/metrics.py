"""``/metrics`` in Prometheus' text format (SPEC §10), for ``METRICS_ALLOWED_IPS`` only.

django-prometheus counts requests by view (the route's name), method and status and
times them (``django_http_*``); Parley adds the families an access layer is judged by:
authentication failures by error code, rate-limited requests by route, key-cache
lookups by result, webhook deliveries by outcome, and the task queue's depth and
oldest age (read from the database at scrape time). With several processes per host
(gunicorn workers, the task worker) set ``PROMETHEUS_MULTIPROC_DIR`` to a directory
they share, and one scrape sees them all (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import threading
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django_prometheus.exports import ExportToDjangoView
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from core.dbhealth import DATABASE_ERRORS
from core.health import task_queue
from core.net import client_ip

AUTH_FAILURES = Counter(
    "parley_auth_failures_total", "Refused credentials (API keys, visitor tokens, signatures), by error code.", ["code"]
)
RATE_LIMITED = Counter("parley_rate_limited_total", "Requests answered 429 rate_limited, by route.", ["route"])
KEY_CACHE_LOOKUPS = Counter(
    "parley_key_cache_lookups_total",
    "API key lookups: local (held by the process), hit (Redis), miss (read the database), bypass (no Redis).",
    ["result"],
)
WEBHOOK_DELIVERIES = Counter(
    "parley_webhook_deliveries_total", "Webhook delivery attempts, by outcome (delivered, failed, gone…).", ["outcome"]
)


class TickedCounter:
    """A counter's child for the request path: counted by ``next(counter.ticks)``, folded in later.

    ``Counter.inc`` checks its argument and takes a lock (about fifty bytecodes: a twentieth of
    what a warm key check adds to a request); ``next()`` of an ``itertools.count`` is one C call,
    atomic under the GIL. ``fold()`` adds the ticks since the last fold to the child: each process
    folds on a beat of its own (``apikeys.localcache``'s heartbeat, every 0.1 s) and ``/metrics``
    folds the scraping process's before it answers, so a scrape is behind by at most a beat.
    """

    def __init__(self, child: Any) -> None:
        self._child = child
        self.ticks = itertools.count()
        self._folds = 0  # the values fold() took from ``ticks`` itself
        self._folded = 0
        self._lock = threading.Lock()
        _TICKED.append(self)

    def fold(self) -> None:
        with self._lock:
            counted = next(self.ticks) - self._folds  # the callers' ticks so far
            self._folds += 1
            if counted > self._folded:
                self._child.inc(counted - self._folded)
                self._folded = counted

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # another thread of the parent may have held it


_TICKED: list[TickedCounter] = []


def fold_ticked() -> None:
    """Add every ``TickedCounter``'s ticks to its counter (this process's)."""
    for counter in _TICKED:
        counter.fold()


def _after_fork() -> None:
    for counter in _TICKED:
        counter._after_fork()


os.register_at_fork(after_in_child=_after_fork)

# Key lookups answered from the process's own memory: every warm request counts one.
LOCAL_KEY_LOOKUPS = TickedCounter(KEY_CACHE_LOOKUPS.labels("local"))

AUTH_FAILURE_CODES = frozenset(
    {
        "api_key_required",
        "invalid_api_key",
        "api_key_revoked",
        "api_key_expired",
        "not_authenticated",
        "invalid_session_token",
        "invalid_signature",
        "identity_verification_failed",
        "ip_not_allowed",
        "origin_not_allowed",
    }
)


class TaskQueueCollector(Collector):
    """The queue's depth and its oldest due task's age, read when scraped."""

    def collect(self) -> Iterator[Metric]:
        try:
            queue = task_queue()
        except DATABASE_ERRORS:
            return
        yield GaugeMetricFamily("parley_task_queue_depth", "Tasks due and waiting for a worker.", value=queue["queued"])
        yield GaugeMetricFamily(
            "parley_task_queue_oldest_seconds",
            "How long the oldest due task has waited.",
            value=queue["oldest_seconds"],
        )


def metrics_allowed(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(entry, strict=False) for entry in settings.METRICS_ALLOWED_IPS)


def metrics(request: HttpRequest) -> HttpResponse:
    """The exposition, to allowed addresses only; anyone else gets the 404 of a page that is not there."""
    if not metrics_allowed(client_ip(request)):
        raise Http404
    fold_ticked()
    response = ExportToDjangoView(request)
    queue = CollectorRegistry()
    queue.register(TaskQueueCollector())
    response.content = response.content + generate_latest(queue)
    return response
