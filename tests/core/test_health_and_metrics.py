"""``/healthz``, ``/readyz`` and ``/metrics`` (SPEC §10); their answers when things fail are in the outage tests."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from prometheus_client import CollectorRegistry, Counter

from core.metrics import TickedCounter
from tests import factories
from webhooks.tasks import deliver

pytestmark = pytest.mark.django_db


def test_healthz_touches_nothing_and_needs_no_authentication(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_each_dependency_without_naming_hosts(client, settings):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["cache"] == ("ok" if hasattr(cache, "raw_client") else "local")  # local: no Redis configured
    assert set(body["tasks"]) == {"queued", "oldest_seconds"}
    text = response.content.decode()
    for secret in ("127.0.0.1", "postgres", "redis://", "version"):
        assert secret not in text


def test_readyz_counts_queued_tasks(client):
    deliver.enqueue(999999)
    tasks = client.get("/readyz").json()["tasks"]
    assert tasks["queued"] >= 1
    assert tasks["oldest_seconds"] >= 0


def test_metrics_are_for_allowed_addresses_only(settings):
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics").status_code == 404
    settings.METRICS_ALLOWED_IPS = ["203.0.113.0/24"]
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics").status_code == 200


def test_metrics_show_the_families_operators_need(client, workspace, secret_key, settings):
    settings.WIDGET_RATE_LIMITS = {**settings.WIDGET_RATE_LIMITS, "config": "1/m"}
    assistant = factories.make_assistant(workspace, widget_enabled=True)
    client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret_key[1]}")
    client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer wsk_live_nonsense")
    for _ in range(2):
        client.get(f"/api/widget/{assistant.public_id}/config")
    text = client.get("/metrics").content.decode()
    assert 'parley_auth_failures_total{code="invalid_api_key"}' in text
    assert 'parley_rate_limited_total{route="api/widget/<str:assistant_id>/config"}' in text
    assert "parley_key_cache_lookups_total{result=" in text
    assert "parley_task_queue_depth" in text
    assert "parley_task_queue_oldest_seconds" in text
    assert "django_http_responses_total_by_status_view_method_total" in text
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text
    assert secret_key[1] not in text


def test_a_ticked_counter_shows_its_ticks_once_folded_and_each_tick_once():
    registry = CollectorRegistry()
    lookups = Counter("lookups_total", "Lookups.", ["result"], registry=registry)
    counter = TickedCounter(lookups.labels("local"))
    for _ in range(3):
        next(counter.ticks)
    assert registry.get_sample_value("lookups_total", {"result": "local"}) == 0  # not folded yet
    counter.fold()
    counter.fold()  # a fold's own tick is not counted
    assert registry.get_sample_value("lookups_total", {"result": "local"}) == 3
    next(counter.ticks)
    counter.fold()
    assert registry.get_sample_value("lookups_total", {"result": "local"}) == 4
