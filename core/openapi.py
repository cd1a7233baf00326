"""Building blocks of the public API's OpenAPI document (drf-spectacular), shared by every app.

- ``ErrorResponse``: the SPEC §3 envelope ``{"error": {code, message, hint?, request_id, …}}``
  every error answers with (``error_response()`` makes a documented response of it);
- ``page_of(Item)``: the cursor-paginated list ``{"next", "previous", "results": [Item]}``;
  ``LIST_PARAMETERS``: its ``limit`` and ``cursor``; ``filter_parameter()`` for the rest;
- ``StrictSerializerScheme``: a ``StrictSerializer`` body is ``additionalProperties: false``;
- ``only_public_api``: the preprocessing hook that keeps the document to ``/api/v1/``.

What a view adds per operation (the auth schemes, the scope, the check chain's errors,
the rate-limit headers) is ``apikeys.schema.ApiV1AutoSchema``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from core.pagination import ApiCursorPagination

PUBLIC_API_PREFIX = "/api/v1/"
EXAMPLE_REQUEST_ID = "0f8fad5bd9cb469fa16570867728950e"


def only_public_api(endpoints: list[tuple[Any, ...]], **kwargs: Any) -> list[tuple[Any, ...]]:
    """``PREPROCESSING_HOOKS``: only ``/api/v1/`` is documented (the in-app ``/api/`` is not public)."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(PUBLIC_API_PREFIX)]


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable: what went wrong (see each response for its codes).")
    message = serializers.CharField(help_text="Human-readable, in English.")
    hint = serializers.CharField(required=False, help_text="What to do instead, where the client can do better.")
    request_id = serializers.CharField(help_text="This request's id (also the X-Request-Id header): quote it to us.")
    fields = serializers.DictField(  # type: ignore[assignment]  # a field named "fields": DRF takes it out of the class
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="400 invalid_request: the messages of each refused field or query parameter, by name.",
    )
    required_scope = serializers.CharField(required=False, help_text="403 missing_scope: the scope the key lacks.")
    existing_id = serializers.CharField(required=False, help_text="409 conflict: the id of the object that exists.")


class ErrorResponse(serializers.Serializer):
    """The error envelope of every API answer that is not a success (SPEC §3)."""

    error = ErrorDetail()


def error_example(name: str, status: int, code: str, message: str, **fields: Any) -> OpenApiExample:
    """A documented error body; ``fields`` go between ``message`` and ``request_id``, as the API writes them."""
    return OpenApiExample(
        name,
        value={"error": {"code": code, "message": message, **fields, "request_id": EXAMPLE_REQUEST_ID}},
        response_only=True,
        status_codes=[str(status)],
    )


def error_response(description: str, *examples: OpenApiExample) -> OpenApiResponse:
    """An error answer for ``@extend_schema(responses={409: error_response(...)})``."""
    return OpenApiResponse(ErrorResponse, description=description, examples=list(examples))


_page_classes: dict[type[serializers.Serializer], type[serializers.Serializer]] = {}


def page_of(item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The serializer of one page of ``item`` (component ``<Item>Page``), as ``ApiCursorPagination`` answers."""
    if item not in _page_classes:
        name = item.__name__.removesuffix("Serializer")
        _page_classes[item] = type(
            f"{name}PageSerializer",
            (serializers.Serializer,),
            {
                "__doc__": f"One page of {name} objects, newest first; follow next/previous to walk the list.",
                "__module__": item.__module__,
                "next": serializers.URLField(allow_null=True, help_text="The next (older) page, or null on the last."),
                "previous": serializers.URLField(allow_null=True, help_text="The previous page, or null on the first."),
                "results": item(many=True),
            },
        )
    return _page_classes[item]


LIST_PARAMETERS = [
    OpenApiParameter(
        ApiCursorPagination.page_size_query_param,
        {"type": "integer", "minimum": 1, "maximum": ApiCursorPagination.max_page_size, "default": 25},
        description=ApiCursorPagination.page_size_query_description,
    ),
    OpenApiParameter(
        ApiCursorPagination.cursor_query_param,
        {"type": "string", "minLength": 1},
        description=ApiCursorPagination.cursor_query_description,
    ),
]


def filter_parameter(name: str, schema: Any, description: str) -> OpenApiParameter:
    """A list filter in the query string (``?status=open``); a bad value is a 400 naming it."""
    return OpenApiParameter(name, schema, description=description)


UPDATED_SINCE = filter_parameter(
    "updated_since",
    {"type": "string", "format": "date-time"},
    "Only objects updated at or after this time: ISO 8601 with a zone, such as 2026-12-01T10:00:00Z.",
)


def path_id(name: str, description: str, example: str) -> OpenApiParameter:
    return OpenApiParameter(
        name, str, OpenApiParameter.PATH, description=description, examples=[OpenApiExample(name, value=example)]
    )


class StrictSerializerScheme(OpenApiSerializerExtension):
    """A ``StrictSerializer`` refuses keys it does not declare: say so (``additionalProperties: false``)."""

    target_class = "core.serializers.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}
