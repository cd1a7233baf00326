"""Webhooks in the admin: support staff view subscriptions and deliveries, retry deliveries, never see a secret."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from accounts.models import AuditEvent
from core.events import emit
from tests import factories
from tests.webhooks.conftest import subscribe
from webhooks.models import Delivery
from webhooks.tasks import deliver

pytestmark = pytest.mark.django_db
HOOKS = "/admin/webhooks/hooksubscription/"
DELIVERIES = "/admin/webhooks/delivery/"


@pytest.fixture
def support_user(db):
    user = factories.make_user("support@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name="Support"))
    return user


@pytest.fixture
def failed(workspace, settings, django_capture_on_commit_callbacks):
    """A subscription (its secret) and a delivery of it that ran out of retries."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    key, _ = factories.make_key(workspace, scopes=["events:read"])
    hook, secret = subscribe(workspace, key, "http://127.0.0.1:9/hook")
    with django_capture_on_commit_callbacks(execute=True):
        emit("contact.created", workspace_id=workspace.pk, data={"email": "<b>ada</b>@example.com"})
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(
        status="failed", attempts=7, next_attempt_at=None, last_status_code=503, last_error="HTTP 503: <i>down</i>"
    )
    return hook, secret, delivery


def test_the_support_group_views_webhooks_and_may_retry():
    group = Group.objects.get(name="Support")
    codenames = set(group.permissions.filter(content_type__app_label="webhooks").values_list("codename", flat=True))
    assert codenames == {"view_hooksubscription", "view_delivery", "retry_delivery"}


def test_support_sees_subscriptions_and_deliveries_but_never_the_secret(client, support_user, failed):
    hook, secret, delivery = failed
    client.force_login(support_user)
    pages = [
        client.get(HOOKS),
        client.get(f"{HOOKS}{hook.pk}/change/"),
        client.get(DELIVERIES),
        client.get(f"{DELIVERIES}{delivery.pk}/change/"),
    ]
    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert secret not in html
        assert secret.removeprefix("whsec_") not in html
        assert hook.secret_encrypted not in html
    listing = pages[2].content.decode()
    assert delivery.event.public_id in listing
    assert "503" in listing
    assert "&lt;i&gt;down&lt;/i&gt;" in listing
    assert "<i>down</i>" not in listing
    detail = pages[3].content.decode()
    assert "&lt;b&gt;ada&lt;/b&gt;@example.com" in detail  # the body sent, escaped
    # read-only: no add, no change, no delete
    assert client.get(f"{HOOKS}add/").status_code == 403
    assert client.post(f"{HOOKS}{hook.pk}/delete/", {"post": "yes"}).status_code == 403
    assert not hook.deliveries.filter(status="pending").exists()


def test_retry_now_puts_a_failed_delivery_back_in_line(client, support_user, failed):
    _, _, delivery = failed
    client.force_login(support_user)
    response = client.post(DELIVERIES, {"action": "retry_now", "_selected_action": [delivery.pk]}, follow=True)
    assert response.status_code == 200
    assert "Queued 1 deliveries" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert delivery.next_attempt_at is not None
    queued = DBTaskResult.objects.filter(task_path=deliver.module_path, status=TaskResultStatus.READY)
    assert queued.filter(args_kwargs__args=[delivery.pk]).exists()
    audit = AuditEvent.objects.get(action="webhook.delivery_retried")
    assert audit.actor_user == support_user


def test_retry_skips_deliveries_of_removed_subscriptions(client, support_user, failed):
    hook, _, delivery = failed
    hook.disabled_at = delivery.created_at
    hook.save()
    client.force_login(support_user)
    response = client.post(DELIVERIES, {"action": "retry_now", "_selected_action": [delivery.pk]}, follow=True)
    assert "Skipped 1" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == "failed"


def test_staff_without_the_permission_get_no_retry_action(client, failed):
    viewer = factories.make_user("viewer@example.com", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_delivery"))
    client.force_login(viewer)
    page = client.get(DELIVERIES)
    assert page.status_code == 200
    assert "retry_now" not in page.content.decode()
    _, _, delivery = failed
    client.post(DELIVERIES, {"action": "retry_now", "_selected_action": [delivery.pk]})
    delivery.refresh_from_db()
    assert delivery.status == "failed"
