"""The ``Support`` group views the widget's visitors, sessions and feedback (SPEC §8).

The policy lives in accounts/permissions.py; accounts/support_group.py applies it.
"""

from django.db import migrations

from accounts.support_group import support_permissions_operation


class Migration(migrations.Migration):
    dependencies = [
        ("apikeys", "0002_support_group"),
        ("widget", "0001_initial"),
    ]

    operations = [support_permissions_operation("widget")]
