"""Shared fixtures. The suite runs on SQLite by default and on PostgreSQL + Redis
when ``DATABASE_URL`` / ``REDIS_URL`` are set."""

from __future__ import annotations

import os

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import Plan, Role
from apikeys import usage
from apikeys.cache import key_cache
from apikeys.localcache import local_keys
from apikeys.throttling import local_counts
from core.dbhealth import database_health
from tests import factories

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session", autouse=True)
def _stop_database_monitor(django_db_setup, django_db_blocker):
    """The monitor thread (core/dbhealth.py) holds a connection: closed before the test database is dropped."""
    yield
    database_health.stop()


@pytest.fixture(autouse=True)
def _clean_cache():
    """Every test starts with empty rate-limit counters, key cache and request log buffer."""
    cache.clear()
    usage.buffer.reset()
    local_keys.forget()
    local_counts.forget()
    yield
    key_cache.forget_pending()
    usage.buffer.reset()  # nothing left for the exit hand-off to store after the test database is gone


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def workspace(db):
    return factories.make_workspace(plan=Plan.PRO)


@pytest.fixture
def free_workspace(db):
    return factories.make_workspace(plan=Plan.FREE)


@pytest.fixture
def owner(workspace):
    return factories.owner_of(workspace)


@pytest.fixture
def admin_user(workspace):
    return factories.add_member(workspace, Role.ADMIN)


@pytest.fixture
def member(workspace):
    return factories.add_member(workspace, Role.MEMBER)


@pytest.fixture
def guest(workspace):
    return factories.add_member(workspace, Role.GUEST)


@pytest.fixture
def secret_key(workspace):
    """``(ApiKey, plain)`` with contacts:read and tickets:write on a pro workspace."""
    return factories.make_key(workspace, scopes=["contacts:read", "tickets:write"])
