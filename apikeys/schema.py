"""The OpenAPI description of ``/api/v1/`` (drf-spectacular): what every ``ApiV1View`` operation says.

``ApiV1AutoSchema`` (``ApiV1View.schema``) reads what a view already declares — its
``required_scopes``, its authentication and permission classes — and adds to each
operation:

- ``security``: a secret key as ``Authorization: Bearer`` *or* ``X-Api-Key``, each with
  the operation's scope as its role (OpenAPI 3.1), and ``x-required-scope``;
- the scope (and the plan rule for ``:write`` scopes) in the description;
- every error the check chain can answer, as the SPEC §3 envelope, with examples:
  401 from authentication, 403/429 from each permission class the view lists, 400 for
  a body or query parameters, 404 for an id in the path, 413/415 for a body;
- the ``X-RateLimit-*``, ``RateLimit-Policy`` and ``RateLimit`` headers (and ``Retry-After`` on 429,
  ``X-Request-Id`` everywhere).

A view declares the rest with ``@extend_schema`` on each method: ``operation_id``
(required: a warning otherwise, and ``spectacular --fail-on-warn`` fails), ``summary``,
``request`` (its ``StrictSerializer``), ``responses`` (the serializer mirroring its
payload, ``core.openapi.page_of(...)`` for a list, and errors of its own such as 409),
``parameters`` (filters; ``core.openapi.LIST_PARAMETERS`` for a list).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from drf_spectacular.drainage import warn
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse

from apikeys.authentication import BOTH_HEADERS_HINT, TOO_MANY_FAILURES, ApiKeyAuthentication
from apikeys.permissions import PUBLISHABLE_KEY_REFUSED, KeyChecks
from apikeys.scopes import SCOPES, is_write
from core.errors import (
    ApiKeyExpired,
    ApiKeyRequired,
    ApiKeyRevoked,
    Forbidden,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InvalidApiKey,
    InvalidInput,
    IpNotAllowed,
    MissingScope,
    NotFound,
    OriginNotAllowed,
    PayloadTooLarge,
    PlanUpgradeRequired,
    RateLimited,
    ServiceError,
    WorkspaceInactive,
)
from core.openapi import ErrorResponse, error_example
from core.pagination import INVALID_LIMIT
from core.serializers import UNKNOWN_FIELD

BEARER, HEADER = "BearerAuth", "ApiKeyHeader"
BODY_METHODS = {"POST", "PUT", "PATCH"}
SUCCESS_DESCRIPTIONS = {"200": "OK.", "201": "Created.", "204": "Done: no body."}


def operation_scope(view: Any, method: str) -> str | None:
    """The scope ``view`` declares for ``method`` (``None``: any secret key)."""
    return (getattr(view, "required_scopes", None) or {}).get(method.upper())


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """A secret key, in either header; the operation's scope is the role of each requirement."""

    target_class = "apikeys.authentication.ApiKeyAuthentication"
    name = [BEARER, HEADER]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        scopes = ", ".join(f"`{scope}`" for scope in SCOPES)
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "wsk_live_…",
                "description": (
                    "A secret workspace API key (`wsk_live_…`, made in Settings → API Keys) as "
                    f"`Authorization: Bearer <key>`. Never in the URL. Scopes: {scopes}."
                ),
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-Api-Key",
                "description": "The same secret key as `X-Api-Key: <key>`; send one key, in one header.",
            },
        ]

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[str]]]:
        scope = operation_scope(auto_schema.view, auto_schema.method)
        roles = [scope] if scope else []
        return [{BEARER: roles}, {HEADER: roles}]


def _header(description: str, *, required: bool = False, minimum: int = 0) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": {"type": "integer", "minimum": minimum}}


def _field(description: str, *, pattern: str, example: str, required: bool) -> dict[str, Any]:
    return {
        "description": description,
        "required": required,
        "schema": {"type": "string", "pattern": pattern},
        "example": example,
    }


def rate_limit_headers(*, required: bool) -> dict[str, Any]:
    """``X-RateLimit-*`` and the same numbers as the IETF fields (draft-ietf-httpapi-ratelimit-headers-11)."""
    return {
        "X-RateLimit-Limit": _header("Requests this key may make per period.", required=required),
        "X-RateLimit-Remaining": _header("Requests left in the current period.", required=required),
        "X-RateLimit-Reset": _header("Seconds until the current period ends.", required=required),
        "RateLimit-Policy": _field(
            'The key\'s limit as the IETF field (draft-ietf-httpapi-ratelimit-headers-11): policy `"key"`, '
            "`q` requests per window of `w` seconds (the same limit as `X-RateLimit-Limit`).",
            pattern=r'^"key";q=\d+;w=\d+$',
            example='"key";q=1000;w=3600',
            required=required,
        ),
        "RateLimit": _field(
            'Where the key stands, as the IETF field: policy `"key"`, `r` requests left, `t` seconds until the '
            "window resets (the same numbers as `X-RateLimit-Remaining` and `X-RateLimit-Reset`).",
            pattern=r'^"key";r=\d+;t=\d+$',
            example='"key";r=998;t=1785',
            required=required,
        ),
    }


REQUEST_ID_HEADER = {
    "X-Request-Id": {
        "description": "This request's id, also in every error body (`request_id`).",
        "required": True,
        "schema": {"type": "string"},
    }
}
RETRY_AFTER_HEADER = {"Retry-After": _header("Seconds to wait before retrying.", required=True, minimum=1)}
WWW_AUTHENTICATE_HEADER = {
    "WWW-Authenticate": {"description": 'Bearer realm="api"', "required": True, "schema": {"type": "string"}}
}


def _example(name: str, error: ServiceError) -> OpenApiExample:
    return error_example(name, error.status_code, error.code, error.message, **error.error_fields())


def _codes(errors: list[ServiceError]) -> str:
    return ", ".join(dict.fromkeys(f"`{error.code}`" for error in errors))


# What each step of the chain (apikeys.permissions.KeyChecks.STEPS) can refuse, given the operation's scope.
STEP_ERRORS: dict[str, Callable[[str | None], list[tuple[str, ServiceError]]]] = {
    "secret_key": lambda scope: [("publishable_key", Forbidden(PUBLISHABLE_KEY_REFUSED))],
    "ip": lambda scope: [("ip_not_allowed", IpNotAllowed())],
    "origin": lambda scope: [("origin_not_allowed", OriginNotAllowed())],
    "workspace_active": lambda scope: [("workspace_inactive", WorkspaceInactive())],
    "rate_limit": lambda scope: [("rate_limited", RateLimited(retry_after=30))],
    "scope": lambda scope: [("missing_scope", MissingScope(scope))] if scope else [],
    "plan": lambda scope: [("plan_upgrade_required", PlanUpgradeRequired())] if scope and is_write(scope) else [],
}
AUTHENTICATION_ERRORS: list[tuple[str, ServiceError]] = [
    ("api_key_required", ApiKeyRequired()),
    ("invalid_api_key", InvalidApiKey()),
    ("both_headers", InvalidApiKey(hint=BOTH_HEADERS_HINT)),
    ("api_key_revoked", ApiKeyRevoked()),
    ("api_key_expired", ApiKeyExpired()),
]


IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7E]+$"},
    "description": (
        "Makes a retry safe: the first answer (except a 5xx) is stored for 24 hours for this key and API key, "
        "and a retry with the same key and body replays it with `Idempotent-Replayed: true`, creating nothing. "
        "The same key with another method, path or body → 409 `idempotency_key_reused`; a retry while the "
        "first request runs → 409 `idempotency_key_in_use`. 1–255 printable ASCII characters, e.g. a UUID."
    ),
}


class ApiV1AutoSchema(AutoSchema):
    """The schema class of ``ApiV1View``: scopes, auth, check-chain errors and headers on every operation."""

    @property
    def scope(self) -> str | None:
        return operation_scope(self.view, self.method)

    def get_operation_id(self) -> str:
        # Only reached when the method's @extend_schema declares no operation_id.
        warn(
            f"{type(self.view).__name__}.{self.method.lower()}: declare @extend_schema(operation_id=...) "
            "(it names the function of a generated client)."
        )
        return super().get_operation_id()

    def get_description(self) -> str:  # type: ignore[override]  # drf-spectacular's signature, not DRF's
        # The method's or the view's own docstring, never one inherited from a base view.
        method = getattr(self.view, self.method.lower(), None)
        doc = getattr(method, "__doc__", None) or type(self.view).__dict__.get("__doc__")
        return inspect.cleandoc(doc) if doc else ""

    def scope_text(self) -> str:
        scope = self.scope
        if scope is None:
            return "**Scope:** none — any secret key of the workspace."
        text = f"**Scope:** `{scope}`"
        if scope.endswith(":read") and (write := f"{scope.split(':')[0]}:write") in SCOPES:
            text += f" (or `{write}`)"
        text += "."
        if is_write(scope):
            text += " Write scopes need the Pro plan or higher (403 `plan_upgrade_required`)."
        return text

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        # Here, not in get_description()/get_extensions(): @extend_schema(description=…) replaces those.
        operation["description"] = "\n\n".join(filter(None, [operation.get("description"), self.scope_text()]))
        operation["x-required-scope"] = self.scope
        if self.method == "POST":
            operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY_PARAMETER)
        responses: dict[str, Any] = operation["responses"]
        for status, response in self._error_responses(operation).items():
            responses.setdefault(status, self._get_response_for_code(response, status))
        for status, response in responses.items():
            response["description"] = response.get("description") or SUCCESS_DESCRIPTIONS.get(status, "")
            headers = response.setdefault("headers", {})
            headers.update(REQUEST_ID_HEADER)
            if status < "300" or status in {"400", "404", "409"}:
                headers.update(rate_limit_headers(required=True))  # these answers passed the rate-limit step
            elif status in {"403", "429"}:
                headers.update(rate_limit_headers(required=False))
            if status == "429":
                headers.update(RETRY_AFTER_HEADER)
            if status == "401":
                headers.update(WWW_AUTHENTICATE_HEADER)
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_responses(self, operation: dict[str, Any]) -> dict[str, OpenApiResponse]:
        """Status → documented error, for every refusal this operation can answer."""
        found: dict[str, OpenApiResponse] = {}
        scope = self.scope

        def add(status: int, description: str, named: list[tuple[str, ServiceError]]) -> None:
            examples = [_example(name, error) for name, error in named]
            found[str(status)] = OpenApiResponse(
                ErrorResponse, description=f"{description} Codes: {_codes([e for _, e in named])}.", examples=examples
            )

        has_body = self.method in BODY_METHODS
        has_query = any(p["in"] == "query" for p in operation.get("parameters", []))
        if has_body or has_query:
            invalid: list[tuple[str, ServiceError]] = []
            if has_body:
                invalid += [
                    ("unknown_field", InvalidInput({"workspace": [UNKNOWN_FIELD]})),
                    (
                        "malformed_json",
                        ServiceError("Malformed JSON in the request body.", hint="Send a valid JSON object."),
                    ),
                ]
            if has_query:
                invalid.append(("bad_parameter", InvalidInput({"limit": [INVALID_LIMIT]})))
            add(400, "The body or a query parameter is invalid: `fields` names each one.", invalid)

        authenticators = [type(a) for a in self.view.get_authenticators()]
        if any(issubclass(a, ApiKeyAuthentication) for a in authenticators):
            add(401, "No API key, or one that is malformed, unknown, revoked or expired.", AUTHENTICATION_ERRORS)

        refusals: list[tuple[str, ServiceError]] = []
        for permission in self.view.get_permissions():
            if isinstance(permission, KeyChecks):
                for step in KeyChecks.STEPS:
                    refusals += STEP_ERRORS[step](scope)
        forbidden = [(name, e) for name, e in refusals if e.status_code == 403]
        if forbidden:
            add(
                403,
                "The key may not do this here (the checks run in this order; the first refusal answers).",
                forbidden,
            )
        if "{" in self.path:
            add(
                404,
                "No such object in the key's workspace (another workspace's id answers the same).",
                [("not_found", NotFound())],
            )
        if self.method == "POST":
            add(
                409,
                "The Idempotency-Key was used for another request, or its first request is still running.",
                [("idempotency_key_reused", IdempotencyKeyReused()), ("idempotency_key_in_use", IdempotencyKeyInUse())],
            )
        if has_body:
            add(413, "The body is over 1 MiB (refused before it is read).", [("payload_too_large", PayloadTooLarge())])
            unsupported = ServiceError('Unsupported media type "text/plain" in request.')
            unsupported.status_code, unsupported.code = 415, "unsupported_media_type"
            add(415, "The body is not `application/json`.", [("unsupported_media_type", unsupported)])
        limited = [(name, e) for name, e in refusals if e.status_code == 429]
        if any(issubclass(a, ApiKeyAuthentication) for a in authenticators):
            limited.append(("too_many_failures", RateLimited(retry_after=60, message=TOO_MANY_FAILURES)))
        if limited:
            add(429, "Too many requests for this key (or too many failed key attempts from this IP).", limited)
        return found
