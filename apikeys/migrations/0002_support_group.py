"""The ``Support`` group of SPEC §8: view everything, revoke keys; no plan changes, no deletes."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# The policy itself lives in accounts/permissions.py; this migration applies it.
from accounts.permissions import SUPPORT_GROUP, SUPPORT_GROUP_PERMISSIONS, SUPPORT_VIEW_APPS


def create_support_group(apps, schema_editor):
    # Permissions are normally created after migrate; make them exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    perms = Permission.objects.filter(content_type__app_label__in=SUPPORT_VIEW_APPS, codename__startswith="view_")
    group.permissions.add(*perms)
    for permission in SUPPORT_GROUP_PERMISSIONS:
        app_label, codename = permission.split(".")
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_support_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=SUPPORT_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("apikeys", "0001_initial"),
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_support_group, remove_support_group)]
