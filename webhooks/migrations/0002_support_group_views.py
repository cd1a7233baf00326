"""The ``Support`` group views webhook subscriptions and deliveries, and may retry deliveries (SPEC §8).

apikeys 0002 made the group and granted ``view_*`` of ``SUPPORT_VIEW_APPS``; it may
have run before this app's tables existed, so this grants this app's views again,
with the app's extra permissions of ``SUPPORT_APP_PERMISSIONS``.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.models import Q

# The policy itself lives in accounts/permissions.py; this migration applies it.
from accounts.permissions import SUPPORT_APP_PERMISSIONS, SUPPORT_GROUP, SUPPORT_VIEW_APPS

APP = "webhooks"


def _granted(Permission):
    extra = SUPPORT_APP_PERMISSIONS.get(APP, ())
    views = Q(codename__startswith="view_") if APP in SUPPORT_VIEW_APPS else Q(pk__in=[])
    return Permission.objects.filter(Q(content_type__app_label=APP) & (views | Q(codename__in=extra)))


def grant(apps, schema_editor):
    # Permissions are normally created after migrate; make this app's exist now.
    app_config = apps.get_app_config(APP)
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, using=schema_editor.connection.alias)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    group.permissions.add(*_granted(Permission))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name=SUPPORT_GROUP):
        group.permissions.remove(*_granted(Permission))


class Migration(migrations.Migration):
    dependencies = [
        ("apikeys", "0002_support_group"),
        ("webhooks", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
