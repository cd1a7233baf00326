"""``manage.py rotate_field_encryption``: a new key put first, every secret re-encrypted, the old key dropped.

The secrets stay what they were for the code that reads them (identity verification,
webhook signing); only the key that opens them changes.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from accounts.actors import Actor
from assistants.models import Assistant
from assistants.selectors import identity_secrets
from assistants.services import assistant_identity_secret_rotate
from core.crypto import InvalidToken
from tests import factories
from webhooks.models import HookSubscription
from webhooks.services import hook_signing_secrets

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def secrets_under_the_old_key(settings, workspace, owner):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    assistant = factories.make_assistant(workspace, created_by=owner)
    actor = Actor.for_user(owner)
    first = assistant_identity_secret_rotate(assistant=assistant, actor=actor)
    second = assistant_identity_secret_rotate(assistant=assistant, actor=actor, previous_valid_for=timedelta(hours=1))
    hook = factories.make_hook(workspace)
    signing, _ = hook_signing_secrets(hook, now=hook.created_at)
    return assistant, hook, [second, first], signing


def test_secrets_read_the_same_after_rotation_with_only_the_new_key(settings, secrets_under_the_old_key, capsys):
    assistant, hook, identity, signing = secrets_under_the_old_key
    stored_before = HookSubscription.objects.get(pk=hook.pk).secret_encrypted

    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    call_command("rotate_field_encryption")
    settings.FIELD_ENCRYPTION_KEYS = [NEW]  # the old key is gone

    assert identity_secrets(assistant.pk) == identity
    hook.refresh_from_db()
    assert hook.secret_encrypted != stored_before
    assert hook_signing_secrets(hook, now=hook.created_at)[0] == signing
    out = capsys.readouterr().out
    assert "assistants.Assistant.identity_secret_encrypted: 1 re-encrypted" in out
    assert "assistants.Assistant.previous_identity_secret_encrypted: 1 re-encrypted" in out
    assert "webhooks.HookSubscription.secret_encrypted: 1 re-encrypted" in out


def test_without_rotation_dropping_the_old_key_locks_the_secrets_out(settings, secrets_under_the_old_key):
    assistant, _hook, _identity, _signing = secrets_under_the_old_key
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(InvalidToken):
        identity_secrets(assistant.pk)


def test_a_value_no_key_opens_is_reported_and_left_as_it_was(settings, secrets_under_the_old_key, capsys):
    assistant, _hook, _identity, _signing = secrets_under_the_old_key
    stored = Assistant.objects.get(pk=assistant.pk).identity_secret_encrypted
    settings.FIELD_ENCRYPTION_KEYS = [NEW]  # the old key forgotten before rotating

    with pytest.raises(CommandError, match="put the key that encrypted them back"):
        call_command("rotate_field_encryption")

    assert Assistant.objects.get(pk=assistant.pk).identity_secret_encrypted == stored
    assert f"assistants.Assistant.identity_secret_encrypted of pk {assistant.pk}: no key" in capsys.readouterr().err
