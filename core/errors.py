"""One error family for the whole project, and the SPEC §3 envelope it renders to.

Services, permission classes and authentication raise subclasses of ``ServiceError``
(a status, a SPEC §3 code, a message, an optional ``hint`` saying what to do
instead, and extra fields such as ``required_scope``). It is mapped in exactly two
places: ``exception_handler`` below for every API, and
``accounts.pages.ServiceErrorPageMixin`` for the server-rendered pages. Each
user-facing message is a class attribute here, defined once.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions
from rest_framework.response import Response

from core.context import request_state
from core.dbhealth import DATABASE_ERRORS, database_health

KEY_HEADER_HINT = "Send the key as Authorization: Bearer <key>; keys in the URL are refused."


class ServiceError(Exception):
    """A refusal with a SPEC §3 code. ``extra`` fields go into the error object."""

    status_code = 400
    code = "invalid_request"
    message = "The request is invalid."
    hint = ""

    def __init__(self, message: str | None = None, *, hint: str | None = None, **extra: Any) -> None:
        self.message = message or type(self).message
        self.hint = type(self).hint if hint is None else hint
        self.extra = extra
        super().__init__(self.message)

    def error_fields(self) -> dict[str, Any]:
        """The error object's fields after ``code`` and ``message``."""
        return {**self.extra, **({"hint": self.hint} if self.hint else {})}


class InvalidInput(ServiceError):
    """Validation failed; ``fields`` maps each field to its messages."""

    def __init__(self, fields: dict[str, list[str]], message: str | None = None) -> None:
        super().__init__(message, fields=fields)
        self.fields = fields


class Forbidden(ServiceError):
    status_code, code, message = 403, "permission_denied", "You do not have permission to do this."


class CsrfFailed(Forbidden):
    message = "CSRF check failed."
    hint = "Send the csrftoken cookie's value in the X-CSRFToken header with every write."


class NotFound(ServiceError):
    status_code, code, message = 404, "not_found", "Not found."


class Conflict(ServiceError):
    status_code, code, message = 409, "conflict", "Conflict."


class IdempotencyKeyReused(ServiceError):
    status_code, code = 409, "idempotency_key_reused"
    message = "This Idempotency-Key was already used with a different request."
    hint = "Use a new Idempotency-Key for a new request; retry with exactly the same method, path and body."


class IdempotencyKeyInUse(ServiceError):
    status_code, code = 409, "idempotency_key_in_use"
    message = "A request with this Idempotency-Key is still being processed."
    hint = "Retry after a moment: the first request's answer will then be replayed."


class InvalidSignature(ServiceError):
    """A signed webhook (Twilio's SMS webhooks, SPEC §7) whose signature is missing or does not verify.

    Later signed callers (GitHub's secret scanning) answer the same code with their own message.
    """

    status_code, code, message = 403, "invalid_signature", "Twilio signature missing or wrong"


class PlanUpgradeRequired(ServiceError):
    status_code, code = 403, "plan_upgrade_required"
    message = "This action requires a Pro plan or higher."
    hint = "Write scopes need the Pro plan or higher. Upgrade this workspace to Pro, or choose read scopes only."


class MissingScope(ServiceError):
    status_code, code = 403, "missing_scope"

    def __init__(self, scope: str) -> None:
        super().__init__(f"This API key lacks the {scope} scope.", required_scope=scope)


class IpNotAllowed(ServiceError):
    status_code, code = 403, "ip_not_allowed"
    message = "Requests from this IP address are not allowed for this API key."


class OriginNotAllowed(ServiceError):
    status_code, code, message = 403, "origin_not_allowed", "Request origin is not allowed."


class WorkspaceInactive(ServiceError):
    status_code, code, message = 403, "workspace_inactive", "This workspace is suspended."


class PayloadTooLarge(ServiceError):
    status_code, code = 413, "payload_too_large"
    message = "The request body is larger than 1 MiB."
    hint = "Send less data per request: split large imports into several requests."


class RateLimited(ServiceError):
    status_code, code, message = 429, "rate_limited", "Too many requests. Retry later."
    retry_after: int

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class ServiceUnavailable(ServiceError):
    """The database is unreachable: nothing was committed, retry (SPEC §10)."""

    status_code, code, message = 503, "service_unavailable", "Service temporarily unavailable."
    hint = "Nothing was changed. Retry after the Retry-After seconds."
    retry_after = 5


class ApiAuthenticationError(ServiceError, exceptions.AuthenticationFailed):
    """A 401. Also DRF's ``AuthenticationFailed``, so DRF adds ``WWW-Authenticate``."""

    status_code, code, message = 401, "invalid_api_key", "Invalid API key"


class ApiKeyRequired(ApiAuthenticationError):
    code, message = "api_key_required", "API key required"
    hint = "Send a secret key as Authorization: Bearer <key>; owners and admins create keys in Settings → API Keys."


class InvalidApiKey(ApiAuthenticationError):
    code, message = "invalid_api_key", "Invalid API key"


class ApiKeyRevoked(ApiAuthenticationError):
    code, message = "api_key_revoked", "API key has been revoked"


class ApiKeyExpired(ApiAuthenticationError):
    code, message = "api_key_expired", "API key has expired"


class InvalidSessionToken(ApiAuthenticationError):
    """A widget visitor token (``wst_…``) that is missing, unknown, expired, or another assistant's."""

    code, message = "invalid_session_token", "Invalid or expired visitor session token"
    hint = (
        "Start a visitor session with POST /api/widget/{assistant}/session "
        "and send its token as Authorization: Bearer wst_…."
    )


class IdentityVerificationFailed(ServiceError):
    status_code, code, message = 403, "identity_verification_failed", "Identity verification failed."


def error_body(request: HttpRequest | None, code: str, message: str, **fields: Any) -> dict[str, Any]:
    """``{"error": {code, message, …fields, request_id}}``; records the code for the log line."""
    error: dict[str, Any] = {"code": code, "message": message, **fields}
    if request is not None:
        state = request_state(request)
        state.error_code = code
        error["request_id"] = state.request_id
    return {"error": error}


def error_response(request: HttpRequest, status_code: int, code: str, message: str, **fields: Any) -> JsonResponse:
    """A plain Django JSON error (for middleware and non-DRF views)."""
    return JsonResponse(error_body(request, code, message, **fields), status=status_code)


def service_error_response(request: HttpRequest, exc: ServiceError) -> JsonResponse:
    """A ``ServiceError`` raised outside DRF (middleware), as JSON."""
    response = error_response(request, exc.status_code, exc.code, exc.message, **exc.error_fields())
    if isinstance(exc, (RateLimited, ServiceUnavailable)):
        response["Retry-After"] = str(exc.retry_after)
    return response


def _validation_fields(detail: Any) -> dict[str, list[str]]:
    """DRF's error detail as ``{name: [message, …]}``, as the document says.

    Errors of nested objects and list items get dotted names (``messages.3.content``):
    DRF nests them (``{"messages": {"3": {"content": [...]}}}``, or a list with one dict
    per item), which no client reading ``fields`` as name → messages expects.
    """
    fields: dict[str, list[str]] = {}
    _flatten(detail, "", fields)
    return fields


def _flatten(detail: Any, name: str, fields: dict[str, list[str]]) -> None:
    if isinstance(detail, dict):
        for key, value in detail.items():
            # A nested object's own errors ("non_field_errors") are named by the object's path.
            path = name if (key == "non_field_errors" and name) else (f"{name}.{key}" if name else str(key))
            _flatten(value, path, fields)
    elif isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        for index, item in enumerate(detail):
            if item:  # a valid item of a list of objects has an empty dict
                _flatten(item, f"{name}.{index}" if name else str(index), fields)
    else:
        items = detail if isinstance(detail, list) else [detail]
        fields.setdefault(name or "non_field_errors", []).extend(str(item) for item in items)


def _as_service_error(exc: Exception) -> ServiceError | None:
    """DRF's and Django's own exceptions, in our family; ``None`` for a real server error."""
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, DATABASE_ERRORS):
        database_health.mark_down(exc)
        return ServiceUnavailable()
    if isinstance(exc, exceptions.ValidationError):
        return InvalidInput(_validation_fields(exc.detail))
    if isinstance(exc, exceptions.ParseError):
        return ServiceError("Malformed JSON in the request body.", hint="Send a valid JSON object.")
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        error = ServiceError("Authentication required", hint="Sign in first; this API uses the session cookie.")
        error.status_code, error.code = 401, "not_authenticated"
        return error
    if isinstance(exc, Ratelimited):
        return RateLimited(retry_after=60)
    if isinstance(exc, (exceptions.PermissionDenied, DjangoPermissionDenied)):
        return Forbidden(str(getattr(exc, "detail", "")) or None)
    if isinstance(exc, (exceptions.NotFound, Http404)):
        return NotFound()
    if isinstance(exc, exceptions.Throttled):
        return RateLimited(retry_after=int(getattr(exc, "wait", None) or 1))
    if isinstance(exc, exceptions.APIException) and exc.status_code in _PLAIN_CODES:
        error = ServiceError(str(exc.detail))
        error.status_code, error.code = exc.status_code, _PLAIN_CODES[exc.status_code]
        return error
    return None


_PLAIN_CODES = {405: "method_not_allowed", 406: "not_acceptable", 415: "unsupported_media_type"}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's ``EXCEPTION_HANDLER``: every exception an API view raises, as the SPEC §3 envelope."""
    error = _as_service_error(exc)
    if error is None:
        return None  # a real server error: ApiJsonErrorsMiddleware answers 500 server_error
    headers: dict[str, str] = {}
    if isinstance(error, (RateLimited, ServiceUnavailable)):
        headers["Retry-After"] = str(error.retry_after)
    auth_header = getattr(exc, "auth_header", None)
    if auth_header and error.status_code == 401:
        headers["WWW-Authenticate"] = auth_header
    body = error_body(context.get("request"), error.code, error.message, **error.error_fields())
    return Response(body, status=error.status_code, headers=headers)
