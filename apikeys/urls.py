"""Settings pages, mounted under ``/settings/``."""

from django.urls import path

from apikeys import views

app_name = "apikeys"

urlpatterns = [
    path("api-keys/", views.KeyListView.as_view(), name="list"),
    path("api-keys/new/", views.KeyCreateView.as_view(), name="create"),
    path("api-keys/<int:pk>/", views.KeyDetailView.as_view(), name="detail"),
    path("api-keys/<int:pk>/roll/", views.KeyRollView.as_view(), name="roll"),
    path("api-keys/<int:pk>/revoke/", views.KeyRevokeView.as_view(), name="revoke"),
]
