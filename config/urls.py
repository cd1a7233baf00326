"""Root URLs: the app's pages, the in-app API, Twilio's SMS webhooks, secret scanners' reports,
the public API and the admin."""

from django.contrib import admin
from django.urls import include, path

from core import views as core_views
from core.api_docs import ApiDocsView, ApiSchemaView
from core.metrics import metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("api/widget/", include("widget.urls_api")),
    path("api/secret-scanning/", include("apikeys.urls_scanning")),
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
    path("widget/", include("widget.urls")),
    path("", include("accounts.urls")),
]

handler500 = "core.views.server_error"
