"""The data migration that respells stored origins the strict way (default ports dropped)."""

from __future__ import annotations

import importlib

from django.apps import apps

from core.origins import origin_allowed
from tests import factories

migration = importlib.import_module("assistants.migrations.0005_normalize_stored_origins")


def test_origins_saved_with_a_default_port_match_browsers_again(workspace, owner):
    assistant = factories.make_assistant(workspace, created_by=owner)
    key, _ = factories.make_key(workspace)
    old_spelling = ["https://Shop.example.com:443", "http://localhost:80", "https://*.example.org", "not an origin"]
    type(assistant).objects.filter(pk=assistant.pk).update(allowed_origins=old_spelling)
    type(key).objects.filter(pk=key.pk).update(
        allowed_origins=["https://shop.example.com:443", "https://shop.example.com"]
    )
    assert not origin_allowed("https://shop.example.com", ["https://Shop.example.com:443"])

    migration.normalize(apps, None)

    assistant.refresh_from_db()
    key.refresh_from_db()
    assert assistant.allowed_origins == [
        "https://shop.example.com",
        "http://localhost",
        "https://*.example.org",
        "not an origin",
    ]
    assert key.allowed_origins == ["https://shop.example.com"]
    assert origin_allowed("https://shop.example.com", assistant.allowed_origins)
