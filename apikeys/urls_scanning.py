"""Secret scanners' reports, mounted under ``/api/secret-scanning/``."""

from django.urls import path

from apikeys import api_scanning

urlpatterns = [
    path("github", api_scanning.GitHubSecretScanningApi.as_view(), name="secret-scanning-github"),
]
