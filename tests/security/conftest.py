"""Fixtures of the security tests: the widget's, the SMS and the webhook tests' own, so each surface is
attacked as its users meet it, and ``world`` (tests/security/world.py)."""

from __future__ import annotations

import pytest

from tests.security.world import World, make_world
from tests.sms.conftest import sms_assistant  # noqa: F401  (a fixture: an assistant Twilio texts)
from tests.webhooks.conftest import receiver  # noqa: F401  (a fixture: a real HTTP receiver on 127.0.0.1)
from tests.widget.conftest import publishable_key, visitor, widget_assistant  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def _twilio_signs_the_test_servers_url(settings):
    """Twilio's signatures are over ``http://testserver/…``, the test client's address (as in tests/sms)."""
    settings.PUBLIC_BASE_URL = ""


@pytest.fixture
def world(workspace, owner, settings, visitor) -> World:  # noqa: F811  (visitor: the fixture imported above)
    return make_world(workspace, owner, settings, visitor)
