"""A transaction refused by a database that answers (a deadlock, a lock timeout) is not an outage.

Only an unreachable database turns a process's requests into 503s (SPEC §10); one
transaction's deadlock must not. The soak found it: two processes storing request-log
batches at once deadlocked, and the loser answered 503 for a second. PostgreSQL only.
"""

from __future__ import annotations

import os

import pytest
from django.db import OperationalError, connection, transaction

from apikeys.models import ApiKey
from core.dbhealth import database_health, is_outage
from tests import factories
from tests.pglocks import held_transaction

pytestmark = pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="needs PostgreSQL (DATABASE_URL)")


def _lock_with_timeout(pk: int) -> None:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '50ms'")
        ApiKey.objects.select_for_update().filter(pk=pk).get()


@pytest.mark.django_db(transaction=True)
def test_a_lock_timeout_leaves_the_database_up_and_requests_answered(api_client, workspace):
    key, plain = factories.make_key(workspace)
    with held_transaction() as holder:
        holder.execute("SELECT id FROM apikeys_apikey WHERE id = %s FOR UPDATE", [key.pk])
        with pytest.raises(OperationalError) as refused:
            _lock_with_timeout(key.pk)
    assert not is_outage(refused.value)

    database_health.mark_down(refused.value)

    assert database_health.is_up()
    assert api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {plain}").status_code == 200


def test_an_unreachable_database_is_an_outage():
    assert is_outage(OperationalError("connection refused"))
