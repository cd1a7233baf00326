"""Re-encrypt every secret stored encrypted at rest with the first of ``FIELD_ENCRYPTION_KEYS``.

Rotation: put the new key first in ``FIELD_ENCRYPTION_KEYS`` (keep the old ones after
it), deploy, run this command, then drop the old keys. The encrypted fields are found
through the app registry — every text field whose name ends in ``_encrypted`` — so a
new one is rotated without touching this command. Each row is updated on its own
(``UPDATE … WHERE pk`` of the one column, no ``save()`` and no signals), so the command
can run while the app serves, and again after an interruption.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import models

from core.crypto import InvalidToken, reencrypt

SUFFIX = "_encrypted"
BATCH = 500


def encrypted_fields() -> list[tuple[type[models.Model], str]]:
    """Every ``(model, field name)`` holding a secret encrypted with ``core.crypto``."""
    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, models.TextField) and field.name.endswith(SUFFIX)
    ]


class Command(BaseCommand):
    help = "Re-encrypt every encrypted-at-rest secret with the first key of FIELD_ENCRYPTION_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        unreadable = 0
        for model, name in encrypted_fields():
            done = 0
            rows = model._default_manager.exclude(**{name: ""}).values_list("pk", name)
            for pk, token in rows.iterator(chunk_size=BATCH):
                try:
                    fresh = reencrypt(token)
                except InvalidToken:
                    unreadable += 1
                    where = f"{model._meta.label}.{name} of pk {pk}"
                    self.stderr.write(f"{where}: no key of FIELD_ENCRYPTION_KEYS opens it")
                    continue
                model._default_manager.filter(pk=pk, **{name: token}).update(**{name: fresh})
                done += 1
            self.stdout.write(f"{model._meta.label}.{name}: {done} re-encrypted")
        if unreadable:
            raise CommandError(
                f"{unreadable} value(s) could not be opened and were left as they were: "
                "put the key that encrypted them back in FIELD_ENCRYPTION_KEYS and run again."
            )
