from django.db import migrations

from accounts.support_group import support_permissions_operation


class Migration(migrations.Migration):
    """The Support group views the request log, daily usage and key networks (and the tables of 0005)."""

    dependencies = [
        ("apikeys", "0006_request_log"),
    ]

    operations = [
        support_permissions_operation("apikeys"),
    ]
