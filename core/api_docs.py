"""The OpenAPI document and its docs page: ``/api/v1/schema/`` (JSON; YAML with ``?format=yaml``) and ``/api/v1/docs/``.

No key needed. The docs are Swagger UI from drf-spectacular-sidecar, served from our own
static files; the page loads its init script as a separate same-origin file (the
"split" view), so the CSP's ``script-src 'self'`` holds: no inline script, no CDN.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import get_urlconf
from django.utils import translation
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.request import Request
from rest_framework.response import Response

_documents: dict[tuple[Any, ...], Any] = {}


class ApiSchemaView(SpectacularAPIView):
    """The OpenAPI 3.1 document of ``/api/v1/``: JSON unless YAML is asked for."""

    renderer_classes = [OpenApiJsonRenderer, OpenApiJsonRenderer2, OpenApiYamlRenderer, OpenApiYamlRenderer2]

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # One document whatever the query says: drf-spectacular would take ``?lang=`` and
        # ``?version=`` from anyone (any string), each a new generation to cache.
        with translation.override(settings.LANGUAGE_CODE):
            return self._get_schema_response(request)

    def _get_version_parameter(self, request: Request) -> None:
        return None  # the API has one version; ``?version=`` is not a way to make another document

    def _get_schema_response(self, request: Request) -> Response:
        # Generated once per process (it only changes with the code): the endpoint needs no
        # key, and a generation costs a few hundred milliseconds of CPU. Nothing the client
        # sends is part of the cache key, so the cache holds one document per URL conf.
        key = (settings.ROOT_URLCONF, get_urlconf())
        if key not in _documents:
            _documents[key] = super()._get_schema_response(request).data
        return Response(
            data=_documents[key],
            headers={"Content-Disposition": f'inline; filename="{self._get_filename(request, None)}"'},
        )


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI for ``/api/v1/``; the page's template has no inline script or style."""

    template_name = "api/swagger_ui.html"
    url_name = "api-v1-schema"
