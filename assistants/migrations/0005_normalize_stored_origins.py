"""Stored origins spelled the one way ``core.origins.normalize_origin`` now spells them.

Origins became strict (the default port dropped: ``https://shop.example.com:443`` is
``https://shop.example.com``), and a request's ``Origin`` is compared in that spelling,
so a list saved before must be spelled so too, or it would stop matching. An entry the
strict rules refuse is kept as it was: it matched nothing before either.
"""

from __future__ import annotations

from django.db import migrations

from core.origins import normalize_origin


def _normalized(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        try:
            spelled = normalize_origin(value)
        except ValueError:
            spelled = value
        if spelled not in out:
            out.append(spelled)
    return out


def normalize(apps, schema_editor):
    for label in ("assistants.Assistant", "apikeys.ApiKey"):
        model = apps.get_model(label)
        for pk, origins in model.objects.exclude(allowed_origins=[]).values_list("pk", "allowed_origins"):
            fixed = _normalized(origins or [])
            if fixed != origins:
                model.objects.filter(pk=pk).update(allowed_origins=fixed)


class Migration(migrations.Migration):
    dependencies = [
        ("assistants", "0004_identity_secret_overlap"),
        ("apikeys", "0007_support_views_request_log"),
    ]

    operations = [migrations.RunPython(normalize, migrations.RunPython.noop)]
