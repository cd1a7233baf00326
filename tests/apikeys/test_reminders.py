"""Keys that look after themselves: expiry reminders, the stale-key flag and the weekly digest.

The clock moves with time-machine; e-mails are read from Django's locmem outbox. The
reminders run as the worker runs them (the ``key_care`` task's body) and as cron runs
them (``manage.py send_key_reminders``): both together send each e-mail once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from accounts.actors import Actor
from accounts.models import Membership, Role
from apikeys.services import api_key_revoke, api_key_roll
from apikeys.tasks import key_care, key_care_ensure_scheduled
from tests import factories
from tests.apikeys.test_key_list_actions import row_of
from tests.apikeys.test_pages import LIST, logged_in, revoke_url

pytestmark = pytest.mark.django_db
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def run_task() -> None:
    """One run of the worker's task body (``key_care`` enqueues its next run itself)."""
    key_care.call()


def subjects() -> list[str]:
    return [message.subject for message in mail.outbox]


def test_reminders_go_7_days_and_1_day_before_expiry_once_each_to_owners_and_admins(workspace, owner, admin_user):
    member = factories.add_member(workspace, Role.MEMBER)
    suspended = factories.add_member(workspace, Role.ADMIN, status=Membership.Status.SUSPENDED)
    with time_machine.travel(START, tick=False):
        key, _ = factories.make_key(workspace, name="Billing sync", expires_at=START + timedelta(days=30))
        run_task()
        assert mail.outbox == []

    with time_machine.travel(START + timedelta(days=23, hours=1), tick=False):  # 6 days 23 hours left
        run_task()
        run_task()  # a second run (a restart, another worker host) sends nothing more
        call_command("send_key_reminders")  # nor does cron beside the worker
        assert len(mail.outbox) == 2
        assert {m.to[0] for m in mail.outbox} == {owner.email, admin_user.email}
        assert member.email not in {m.to[0] for m in mail.outbox}
        assert suspended.email not in {m.to[0] for m in mail.outbox}
        assert subjects()[0] == f'[Parley] API key "Billing sync" ({key.hint}) expires in 6 days'
        assert "Roll" in mail.outbox[0].body
        assert f"/settings/api-keys/{key.pk}/" in mail.outbox[0].body

    with time_machine.travel(START + timedelta(days=29, hours=1), tick=False):  # 23 hours left
        run_task()
        run_task()
        assert len(mail.outbox) == 4
        assert subjects()[2] == f'[Parley] API key "Billing sync" ({key.hint}) expires in 23 hours'

    with time_machine.travel(START + timedelta(days=29, hours=20), tick=False):
        run_task()
        assert len(mail.outbox) == 4


def test_a_revoked_key_gets_no_reminder_and_a_short_lived_key_only_the_one_day_one(workspace, owner):
    with time_machine.travel(START, tick=False):
        revoked, _ = factories.make_key(workspace, name="Old", expires_at=START + timedelta(days=30))
        api_key_revoke(key=revoked, actor=Actor.for_user(owner))
        factories.make_key(workspace, name="Short", expires_at=START + timedelta(days=3))
    with time_machine.travel(START + timedelta(days=1), tick=False):
        run_task()
        assert mail.outbox == []
    with time_machine.travel(START + timedelta(days=2, hours=1), tick=False):
        run_task()
        assert subjects() == [mail.outbox[0].subject]
        assert '"Short"' in subjects()[0]
    with time_machine.travel(START + timedelta(days=29, hours=1), tick=False):
        run_task()
        assert len(mail.outbox) == 1


def test_a_rolled_keys_grace_ending_is_a_reminder_too(workspace, owner):
    with time_machine.travel(START, tick=False):
        key, _ = factories.make_key(workspace, name="Zapier")
    with time_machine.travel(START + timedelta(days=10), tick=False):
        api_key_roll(key=key, actor=Actor.for_user(owner), grace=timedelta(days=7))
        run_task()  # 7 days left: the 7-day reminder
        assert subjects() == [f'[Parley] API key "Zapier" ({key.hint}) grace ends in 1 week']
        assert "successor" in mail.outbox[0].body
    with time_machine.travel(START + timedelta(days=16, hours=1), tick=False):
        run_task()
        run_task()
        assert len(mail.outbox) == 2
        assert "grace ends in 23 hours" in subjects()[1]


def test_the_task_keeps_itself_scheduled(workspace):
    DBTaskResult.objects.filter(task_path=key_care.module_path).delete()
    assert key_care_ensure_scheduled() is True
    assert key_care_ensure_scheduled() is False  # one queued is enough
    assert DBTaskResult.objects.filter(task_path=key_care.module_path, status="READY").count() == 1


def test_the_list_flags_keys_expiring_within_7_days(workspace, owner):
    with time_machine.travel(START, tick=False):
        soon, _ = factories.make_key(workspace, name="Soon", expires_at=START + timedelta(days=3))
        later, _ = factories.make_key(workspace, name="Later", expires_at=START + timedelta(days=30))
        html = logged_in(owner).get(LIST).content.decode()
    assert "expires in 3 days" in row_of(html, soon)
    assert "expires in" not in row_of(html, later).replace("in 4 weeks", "")


def test_stale_keys_are_flagged_with_revoke_and_mailed_weekly_to_owners(workspace, owner, admin_user):
    with time_machine.travel(START, tick=False):
        stale, _ = factories.make_key(workspace, name="Forgotten")
        fresh, _ = factories.make_key(workspace, name="Busy")
    with time_machine.travel(START + timedelta(days=90), tick=False):
        type(fresh).objects.filter(pk=fresh.pk).update(last_used_at=START + timedelta(days=89))
    with time_machine.travel(START + timedelta(days=97), tick=False):  # a Sunday, 97 days on
        html = logged_in(owner).get(LIST).content.decode()
        row = row_of(html, stale)
        assert "unused for 97 days" in row
        assert f'href="{revoke_url(stale)}"' in row
        assert "unused for" not in row_of(html, fresh)

        run_task()
        run_task()
        assert len(mail.outbox) == 1  # one digest a week, to owners only
        digest = mail.outbox[0]
        assert digest.to == [owner.email]
        assert digest.subject == f'[Parley] 1 API key of "{workspace.name}" unused for 90 days'
        assert f"Forgotten ({stale.hint}" in digest.body
        assert "unused for 97 days" in digest.body
        assert revoke_url(stale) in digest.body
        assert "Busy" not in digest.body
    with time_machine.travel(START + timedelta(days=97, hours=14), tick=False):  # still that week
        run_task()
        assert len(mail.outbox) == 1
    with time_machine.travel(START + timedelta(days=101), tick=False):  # the next week (Thursday)
        run_task()
        run_task()
        assert len(mail.outbox) == 2
        assert "unused for 101 days" in mail.outbox[1].body


def test_owners_turn_the_digest_off_for_their_workspace(workspace, owner, admin_user):
    with time_machine.travel(START, tick=False):
        factories.make_key(workspace, name="Forgotten")
    owner_client, admin_client = logged_in(owner), logged_in(admin_user)
    assert owner_client.get("/api/workspace/settings").json() == {"stale_keys_digest": True}
    refused = admin_client.patch(
        "/api/workspace/settings", {"stale_keys_digest": False}, content_type="application/json"
    )
    assert refused.status_code == 403
    answer = owner_client.patch(
        "/api/workspace/settings", {"stale_keys_digest": False}, content_type="application/json"
    )
    assert answer.status_code == 200
    assert answer.json() == {"stale_keys_digest": False}
    with time_machine.travel(START + timedelta(days=97), tick=False):
        run_task()
        assert mail.outbox == []
    unknown = owner_client.patch("/api/workspace/settings", {"plan": "pro"}, content_type="application/json")
    assert unknown.status_code == 400
