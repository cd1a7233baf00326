"""Assistants with SMS settings (the fixtures' account, number and token), and a fake Twilio REST API."""

from __future__ import annotations

import pytest

from tests import factories
from tests.sms import twilio
from tests.twilio_recorder import start_recorder


@pytest.fixture(autouse=True)
def _no_public_base_url(settings):
    """Each test says where Twilio calls: by default the test client's ``http://testserver``."""
    settings.PUBLIC_BASE_URL = ""


@pytest.fixture
def sms_assistant(workspace):
    """Texted at ``twilio.SMS_NUMBER``; its FAQ answers the fixture's question."""
    return factories.make_assistant(
        workspace,
        name="Help center",
        faq=(("What are your opening hours?", "We're open 9 to 5, Monday to Friday."),),
        help_text="Help center: ask us anything. Reply STOP to opt out.",
        sms_number=twilio.SMS_NUMBER,
        twilio_account_sid=twilio.ACCOUNT_SID,
        twilio_auth_token=twilio.AUTH_TOKEN,
    )


@pytest.fixture
def pool_assistant(workspace):
    """Sends through the fixtures' Messaging Service (a pool of numbers)."""
    return factories.make_assistant(
        workspace,
        name="Shipping desk",
        faq=(("Do you ship to Canada?", "Yes, in 5 to 7 days."),),
        twilio_messaging_service_sid=twilio.MESSAGING_SERVICE_SID,
        twilio_account_sid=twilio.ACCOUNT_SID,
        twilio_auth_token=twilio.AUTH_TOKEN,
    )


@pytest.fixture
def twilio_api(settings):
    """Twilio's REST API, played locally by the recorder (the suite never calls Twilio)."""
    recorder, server = start_recorder()
    settings.TWILIO_API_BASE_URL = recorder.url
    yield recorder
    server.shutdown()
