"""Root URLs: the app's pages, the in-app API, Twilio's SMS webhooks, secret scanners' reports,
the public API and the admin."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.urls.resolvers import RoutePattern

from core import views as core_views
from core.api_docs import ApiDocsView, ApiSchemaView
from core.metrics import metrics
from core.urls import MemoizedResolver

# The public API first, in one include: every /api/v1/ call resolves in a handful of pattern
# tests instead of walking the whole list (about 30 regex matches, ~20 µs a request, issue #23).
# No pattern below matches a path under api/v1/, so the order changes no answer.
API_V1: list[URLPattern | URLResolver] = [
    path("schema/", ApiSchemaView.as_view(), name="api-v1-schema"),
    path("docs/", ApiDocsView.as_view(), name="api-v1-docs"),
    path("", include("apikeys.urls_api")),
    path("", include("crm.urls_api")),
    path("", include("assistants.urls_api_v1")),
    path("", include("webhooks.urls_api")),
]

urlpatterns = [
    # Each /api/v1/ path is matched once per process, then remembered (core/urls.py).
    MemoizedResolver(RoutePattern("api/v1/", is_endpoint=False), API_V1),
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
    path("settings/", include("apikeys.urls")),
    path("widget/", include("widget.urls")),
    path("", include("accounts.urls")),
]

handler500 = "core.views.server_error"
