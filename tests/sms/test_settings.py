"""Where a manager finds the URLs to give Twilio, and the Messaging Service setting (SPEC §7)."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Role
from tests import factories
from tests.sms import twilio

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_api(owner):
    api = APIClient()
    api.force_authenticate(owner)
    return api


def test_managers_see_the_webhook_urls_in_the_assistant_detail(owner_api, sms_assistant, settings):
    settings.PUBLIC_BASE_URL = "https://parley.example.com"
    data = owner_api.get(f"/api/assistants/{sms_assistant.public_id}").json()
    assert data["sms_webhook_url"] == f"https://parley.example.com/api/sms/webhook/{sms_assistant.public_id}"
    assert data["sms_status_callback_url"] == f"https://parley.example.com/api/sms/status/{sms_assistant.public_id}"
    listed = owner_api.get("/api/assistants").json()["results"]
    assert listed[0]["sms_webhook_url"] == data["sms_webhook_url"]


def test_without_public_base_url_the_urls_are_the_requests_host(owner_api, sms_assistant, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["app.example.com"]
    data = owner_api.get(
        f"/api/assistants/{sms_assistant.public_id}", HTTP_HOST="app.example.com", HTTP_X_FORWARDED_PROTO="https"
    ).json()
    assert data["sms_webhook_url"] == f"https://app.example.com/api/sms/webhook/{sms_assistant.public_id}"


def test_a_url_shown_is_one_twilio_can_post_to(client, owner_api, sms_assistant, settings):
    settings.PUBLIC_BASE_URL = "https://parley.example.com"
    url = owner_api.get(f"/api/assistants/{sms_assistant.public_id}").json()["sms_webhook_url"]
    response = twilio.post_signed(
        client, url.removeprefix("https://parley.example.com"), twilio.fixture("inbound_sms"), signed_url=url
    )
    assert response.status_code == 200


def test_members_do_not_see_the_settings(workspace, sms_assistant):
    api = APIClient()
    api.force_authenticate(factories.add_member(workspace, Role.MEMBER))
    data = api.get(f"/api/assistants/{sms_assistant.public_id}").json()
    assert "sms_webhook_url" not in data
    assert "twilio_account_sid" not in data


def test_the_messaging_service_is_set_and_shown_in_the_in_app_api(owner_api, sms_assistant):
    url = f"/api/assistants/{sms_assistant.public_id}"
    response = owner_api.patch(url, {"twilio_messaging_service_sid": twilio.MESSAGING_SERVICE_SID}, format="json")
    assert response.status_code == 200
    assert response.json()["twilio_messaging_service_sid"] == twilio.MESSAGING_SERVICE_SID
    refused = owner_api.patch(url, {"twilio_messaging_service_sid": "MG123"}, format="json")
    assert refused.status_code == 400
    assert "twilio_messaging_service_sid" in refused.json()["error"]["fields"]
    assert "twilio_auth_token" not in owner_api.get(url).json()  # write-only
    assert owner_api.get(url).json()["has_twilio_auth_token"] is True


def test_the_admin_shows_the_urls_and_the_messaging_service(sms_assistant, settings):
    settings.PUBLIC_BASE_URL = "https://parley.example.com"
    admin = Client()
    admin.force_login(factories.make_user("root@example.com", is_staff=True, is_superuser=True))
    page = admin.get(f"/admin/assistants/assistant/{sms_assistant.pk}/change/")
    html = page.content.decode()
    assert (
        f'<code class="sms-webhook-url">https://parley.example.com/api/sms/webhook/{sms_assistant.public_id}</code>'
        in html
    )
    assert f"https://parley.example.com/api/sms/status/{sms_assistant.public_id}" in html
    assert 'name="twilio_messaging_service_sid"' in html
    assert twilio.AUTH_TOKEN not in html
    assert "shown here once the assistant is saved" in admin.get("/admin/assistants/assistant/add/").content.decode()
