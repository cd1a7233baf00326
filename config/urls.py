"""Root URLs: the app's pages, the in-app API, Twilio's SMS webhooks, the public API and the admin."""

from django.contrib import admin
from django.urls import include, path

from core import views as core_views
from core.api_docs import ApiDocsView, ApiSchemaView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("healthz", core_views.healthz, name="healthz"),
    path("api/", include("accounts.urls_api")),
    path("api/", include("assistants.urls_api")),
    path("api/sms/", include("sms.urls_api")),
    path("api/v1/schema/", ApiSchemaView.as_view(), name="api-v1-schema"),
    path("api/v1/docs/", ApiDocsView.as_view(), name="api-v1-docs"),
    path("api/v1/", include("apikeys.urls_api")),
    path("api/v1/", include("crm.urls_api")),
    path("api/v1/", include("assistants.urls_api_v1")),
    path("api/v1/", include("webhooks.urls_api")),
    path("settings/", include("apikeys.urls")),
    path("", include("accounts.urls")),
]
