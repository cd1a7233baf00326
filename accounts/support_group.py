"""The data migration every app uses to apply the Support group's policy to its own tables.

apikeys 0002 made the ``Support`` group; an app whose tables come later grants, in a
migration of its own, ``view_*`` of its models (when it is in ``SUPPORT_VIEW_APPS``)
and its ``SUPPORT_APP_PERMISSIONS``, with ``support_permissions_operation(app_label)``.
The policy itself lives in ``accounts/permissions.py``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.models import Q

from accounts.permissions import SUPPORT_APP_PERMISSIONS, SUPPORT_GROUP, SUPPORT_VIEW_APPS


def support_permissions_operation(app_label: str) -> migrations.RunPython:
    """A reversible ``RunPython`` granting the Support group what the policy gives it on ``app_label``."""

    def granted(permission_model: Any) -> Any:
        extra = SUPPORT_APP_PERMISSIONS.get(app_label, ())
        views = Q(codename__startswith="view_") if app_label in SUPPORT_VIEW_APPS else Q(pk__in=[])
        return permission_model.objects.filter(Q(content_type__app_label=app_label) & (views | Q(codename__in=extra)))

    def grant(apps: Any, schema_editor: Any) -> None:
        # Permissions are normally created after migrate; make this app's exist now.
        app_config = apps.get_app_config(app_label)
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, using=schema_editor.connection.alias)
        app_config.models_module = None
        group, _ = apps.get_model("auth", "Group").objects.get_or_create(name=SUPPORT_GROUP)
        group.permissions.add(*granted(apps.get_model("auth", "Permission")))

    def revoke(apps: Any, schema_editor: Any) -> None:
        permission_model = apps.get_model("auth", "Permission")
        for group in apps.get_model("auth", "Group").objects.filter(name=SUPPORT_GROUP):
            group.permissions.remove(*granted(permission_model))

    return migrations.RunPython(grant, revoke)
