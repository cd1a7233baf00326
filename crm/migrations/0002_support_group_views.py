"""The ``Support`` group views contacts and tickets (SPEC §8).

apikeys 0002 made the group and granted ``view_*`` of ``SUPPORT_VIEW_APPS``; it may
have run before this app's tables existed, so this grants this app's views again.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# The policy itself lives in accounts/permissions.py; this migration applies it.
from accounts.permissions import SUPPORT_GROUP, SUPPORT_VIEW_APPS

APP = "crm"


def grant_views(apps, schema_editor):
    # Permissions are normally created after migrate; make this app's exist now.
    app_config = apps.get_app_config(APP)
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, using=schema_editor.connection.alias)
    app_config.models_module = None
    if APP not in SUPPORT_VIEW_APPS:
        return
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    group.permissions.add(*Permission.objects.filter(content_type__app_label=APP, codename__startswith="view_"))


def revoke_views(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name=SUPPORT_GROUP):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label=APP, codename__startswith="view_"))


class Migration(migrations.Migration):
    dependencies = [
        ("apikeys", "0002_support_group"),
        ("crm", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant_views, revoke_views)]
