"""The project's admin configuration: Django's admin app, with the Parley admin site."""

from django.contrib.admin.apps import AdminConfig


class ParleyAdminConfig(AdminConfig):
    default_site = "config.admin_site.ParleyAdminSite"
