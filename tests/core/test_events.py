"""Domain events are recorded with the change (the outbox row), reach subscribers after
commit, and neither exists after a rollback."""

import logging
import re
from datetime import UTC

import pytest
from django.db import transaction

from accounts.models import AuditEvent
from core.events import DomainEvent, domain_event, emit
from core.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def received():
    """The events a subscriber connected for this test hears."""
    events: list[DomainEvent] = []

    def subscriber(sender, event, **kwargs):
        events.append(event)

    domain_event.connect(subscriber)
    yield events
    domain_event.disconnect(subscriber)


def test_a_subscriber_hears_the_event_once_the_transaction_commits(received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = emit("contact.created", workspace_id=7, data={"id": 1, "email": "ada@example.com"}, actor="ada")
        assert received == []
        # the row is written in the transaction, before commit
        assert Event.objects.filter(public_id=event.id).exists()
    assert received == [event]
    row = Event.objects.get(public_id=event.id)
    assert (row.type, row.workspace_id, row.data, row.actor) == (
        "contact.created",
        7,
        {"id": 1, "email": "ada@example.com"},
        "ada",
    )
    assert row.created_at == event.occurred_at
    assert event.type == "contact.created"
    assert event.workspace_id == 7
    assert event.data == {"id": 1, "email": "ada@example.com"}
    assert event.actor == "ada"
    assert re.fullmatch(r"evt_[0-9A-Za-z]{20}", event.id)
    assert event.occurred_at.tzinfo is UTC


def write_then_fail() -> None:
    with transaction.atomic():
        AuditEvent.objects.create(action="contact.created")
        emit("contact.created", workspace_id=7, data={"id": 1})
        raise RuntimeError("the write fails")


def test_nothing_is_heard_when_the_transaction_rolls_back(received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError, match="the write fails"):
        write_then_fail()
    assert received == []
    assert not AuditEvent.objects.exists()
    assert not Event.objects.exists()  # the outbox row went with the change


def test_every_event_has_its_own_id(received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(50):
            emit("ticket.updated", workspace_id=None, data={"n": n})
    assert len({event.id for event in received}) == 50
    assert Event.objects.count() == 50


def test_the_event_keeps_the_data_as_it_was_at_emit(received, django_capture_on_commit_callbacks):
    data = {"status": "open"}
    with django_capture_on_commit_callbacks(execute=True):
        emit("ticket.updated", workspace_id=1, data=data)
        data["status"] = "closed"
    assert received[0].data == {"status": "open"}
    assert Event.objects.get().data == {"status": "open"}


def test_data_is_stored_as_json_would_carry_it(received, django_capture_on_commit_callbacks):
    from datetime import datetime

    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=True):
        event = emit("ticket.updated", workspace_id=1, data={"at": when, "nested": {"tags": ["a"]}})
    assert event.data == {"at": "2025-01-02T03:04:05Z", "nested": {"tags": ["a"]}}
    assert Event.objects.get(public_id=event.id).data == event.data


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_row_and_the_signal_come_at_once(received):
    event = emit("ticket.created", workspace_id=3, data={})
    assert received == [event]
    assert Event.objects.filter(public_id=event.id).exists()


@pytest.mark.django_db(transaction=True)
def test_a_failing_subscriber_breaks_neither_the_writer_nor_the_others(caplog):
    heard: list[str] = []

    def broken(sender, event, **kwargs):
        raise ValueError("subscriber bug")

    def after_broken(sender, event, **kwargs):
        heard.append(event.type)

    domain_event.connect(broken)  # called first: receivers run in the order they connected
    domain_event.connect(after_broken)
    try:
        with caplog.at_level(logging.ERROR), transaction.atomic():
            AuditEvent.objects.create(action="ticket.created")
            emit("ticket.created", workspace_id=1, data={})
            assert heard == []  # not before the real commit
    finally:
        domain_event.disconnect(broken)
        domain_event.disconnect(after_broken)
    assert AuditEvent.objects.count() == 1
    assert Event.objects.filter(type="ticket.created").count() == 1
    assert heard == ["ticket.created"]
    assert "subscriber bug" in caplog.text
