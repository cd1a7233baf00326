"""Building blocks of the public API's OpenAPI document (drf-spectacular), shared by every app.

- ``ErrorResponse``: the SPEC §3 envelope ``{"error": {code, message, hint?, request_id, …}}``
  every error answers with (``error_response()`` makes a documented response of it);
- ``page_of(Item)``: the cursor-paginated list ``{"next", "previous", "results": [Item]}``;
  ``LIST_PARAMETERS``: its ``limit`` and ``cursor``; ``filter_parameter()`` for the rest;
- ``StrictSerializerScheme``: a ``StrictSerializer`` body is ``additionalProperties: false``;
- ``only_public_api``: the preprocessing hook that keeps the document to ``/api/v1/``;
- ``link_operations``: the postprocessing hook that adds OpenAPI links (create → get, update,
  delete by id; a list's first item → its operations), which stateful clients and
  schemathesis's stateful mode follow.

What a view adds per operation (the auth schemes, the scope, the check chain's errors,
the rate-limit headers) is ``apikeys.schema.ApiV1AutoSchema``.
"""

from __future__ import annotations

import re
from collections import defaultdict
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


_METHODS = ("get", "put", "patch", "post", "delete")
_PATH_PARAMETER = re.compile(r"\{(\w+)\}")


def link_operations(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """``POSTPROCESSING_HOOKS``: OpenAPI links from what an answer carries to the operations it feeds.

    ``/api/v1/<things>`` and ``/api/v1/<things>/{thing_id}``, when their success answers with an
    ``id`` (an object, or a page of them: ``results/0``), link to every operation of
    ``/api/v1/<things>/{thing_id}…`` with that id; a property named ``contact`` or ``contact_id``
    (a string) links to the operations taking ``{contact_id}``. So ``create_contact``'s 201 links to ``get_contact``,
    ``update_contact`` and ``delete_contact``, and ``list_conversations`` to the messages of its
    first conversation. Derived from the paths and schemas, so a new resource gets its links.
    """
    schemas = result.get("components", {}).get("schemas", {})
    consumers: dict[str, list[str]] = defaultdict(list)  # path parameter → operation ids taking it
    item_parameter: dict[str, str] = {}  # "/api/v1/contacts" → "contact_id"
    for path, operations in result["paths"].items():
        parameters = _PATH_PARAMETER.findall(path)
        if len(parameters) != 1:
            continue
        item_parameter.setdefault(path.split("/{", 1)[0], parameters[0])
        consumers[parameters[0]] += [op["operationId"] for method, op in operations.items() if method in _METHODS]
    for path, operations in result["paths"].items():
        collection = path.split("/{", 1)[0]
        # Only the collection and its items answer with the item's own id (a sub-resource's is its own).
        own = item_parameter.get(collection) if path.count("/{") == path.endswith("}") else None
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            for status, response in operation.get("responses", {}).items():
                if not status.startswith("2"):
                    continue
                sources = _id_sources(_body_schema(response, schemas), schemas, own)
                links = {
                    target: {
                        "operationId": target,
                        "parameters": {parameter: f"$response.body#{pointer}"},
                        "description": f"The {parameter} of this answer ({pointer.lstrip('/')}).",
                    }
                    for parameter, pointer in sources.items()
                    for target in consumers.get(parameter, [])
                    if target != operation["operationId"] or pointer.startswith("/results")
                }
                if links:
                    response["links"] = links
    return result


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _body_schema(response: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return _resolve(schema, schemas)


def _id_sources(schema: dict[str, Any], schemas: dict[str, Any], own_parameter: str | None) -> dict[str, str]:
    """Path parameter → JSON pointer into the body that holds a value for it."""
    prefix = ""
    properties = schema.get("properties", {})
    if "results" in properties:  # a page: its first item
        prefix, schema = "/results/0", _resolve(properties["results"].get("items", {}), schemas)
        properties = schema.get("properties", {})
    sources = {}
    if own_parameter and "id" in properties:
        sources[own_parameter] = f"{prefix}/id"
    for name, field in properties.items():
        kind = field.get("type")
        if name != "id" and (kind == "string" or (isinstance(kind, list) and "string" in kind)):
            parameter = name if name.endswith("_id") else f"{name}_id"
            sources.setdefault(parameter, f"{prefix}/{name}")
    return sources


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
        # No "maximum": a larger limit is not refused but capped at max_page_size (SPEC §4), as the description says.
        {"type": "integer", "minimum": 1, "default": 25},
        description=ApiCursorPagination.page_size_query_description,
    ),
    OpenApiParameter(
        ApiCursorPagination.cursor_query_param,
        # "cursor": an opaque token a list answer gave (next/previous); any other string is a 400.
        {"type": "string", "minLength": 1, "format": "cursor"},
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
        # DRF refuses "" for a CharField without allow_blank; drf-spectacular does not say so.
        properties = schema.get("properties", {})
        for name, field in self.target.fields.items():
            prop = properties.get(name) or {}
            text = prop.get("type") in ("string", ["string", "null"]) and "enum" not in prop
            if isinstance(field, serializers.CharField) and not field.allow_blank and text:
                prop.setdefault("minLength", 1)
        return {**schema, "additionalProperties": False}
