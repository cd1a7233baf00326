"""The JSON error envelope of SPEC §3, produced for every API by one exception handler."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions, status
from rest_framework.response import Response


class ApiError(exceptions.APIException):
    """An error with a SPEC §3 code; ``extra`` fields go into the error object."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid_request"
    message = "Invalid request."

    def __init__(self, message: str | None = None, **extra: Any) -> None:
        self.message = message or self.message
        self.extra = extra
        super().__init__(detail=self.message, code=self.code)


class ApiAuthenticationError(exceptions.AuthenticationFailed):
    """A 401 with a SPEC §3 code; DRF adds ``WWW-Authenticate`` for these."""

    code = "invalid_api_key"
    message = "Invalid API key"

    def __init__(self, message: str | None = None, **extra: Any) -> None:
        self.message = message or self.message
        self.extra = extra
        super().__init__(detail=self.message, code=self.code)


class ApiKeyRequired(ApiAuthenticationError):
    code, message = "api_key_required", "API key required"


class InvalidApiKey(ApiAuthenticationError):
    code, message = "invalid_api_key", "Invalid API key"


class ApiKeyRevoked(ApiAuthenticationError):
    code, message = "api_key_revoked", "API key has been revoked"


class ApiKeyExpired(ApiAuthenticationError):
    code, message = "api_key_expired", "API key has expired"


class Forbidden(ApiError):
    status_code, code, message = 403, "permission_denied", "You do not have permission to do this."


class MissingScope(ApiError):
    status_code, code = 403, "missing_scope"

    def __init__(self, scope: str) -> None:
        super().__init__(f"This API key lacks the {scope} scope.", required_scope=scope)


class PlanUpgradeRequired(ApiError):
    status_code, code = 403, "plan_upgrade_required"
    message = "This action requires a Pro plan or higher."


class IpNotAllowed(ApiError):
    status_code, code = 403, "ip_not_allowed"
    message = "Requests from this IP address are not allowed for this API key."


class OriginNotAllowed(ApiError):
    status_code, code, message = 403, "origin_not_allowed", "Request origin is not allowed."


class WorkspaceInactive(ApiError):
    status_code, code, message = 403, "workspace_inactive", "This workspace is suspended."


class NotFound(ApiError):
    status_code, code, message = 404, "not_found", "Not found."


class Conflict(ApiError):
    status_code, code, message = 409, "conflict", "Conflict."


class RateLimited(ApiError):
    status_code, code, message = 429, "rate_limited", "Too many requests. Retry later."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(message)


def error_body(code: str, message: str, request: Any = None, **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, **extra}
    request_id = getattr(request, "request_id", None)
    if request_id:
        error["request_id"] = request_id
    return {"error": error}


def error_response(request: Any, status_code: int, code: str, message: str, **extra: Any) -> JsonResponse:
    """A plain Django JSON error (for middleware and non-DRF views)."""
    return JsonResponse(error_body(code, message, request, **extra), status=status_code)


def _validation_fields(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return {
            key: [str(item) for item in value] if isinstance(value, list) else _validation_fields(value)
            for key, value in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": [str(item) for item in detail]}
    return {"non_field_errors": [str(detail)]}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Turn every exception an API view raises into the SPEC §3 envelope."""
    request = context.get("request")
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}

    if isinstance(exc, (ApiError, ApiAuthenticationError)):
        status_code, code, message, extra = exc.status_code, exc.code, exc.message, exc.extra
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, exceptions.ValidationError):
        status_code, code, message = 400, "invalid_request", "The request is invalid."
        extra = {"fields": _validation_fields(exc.detail)}
    elif isinstance(exc, exceptions.ParseError):
        status_code, code, message = 400, "invalid_request", "Malformed JSON in the request body."
    elif isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        status_code, code, message = 401, "not_authenticated", "Authentication required"
    elif isinstance(exc, (exceptions.PermissionDenied, DjangoPermissionDenied)):
        status_code, code = 403, "permission_denied"
        message = str(getattr(exc, "detail", "")) or "You do not have permission to do this."
        if isinstance(exc, Ratelimited):
            status_code, code, message = 429, "rate_limited", "Too many requests. Retry later."
            headers["Retry-After"] = "60"
    elif isinstance(exc, (exceptions.NotFound, Http404)):
        status_code, code, message = 404, "not_found", "Not found."
    elif isinstance(exc, exceptions.MethodNotAllowed):
        status_code, code, message = 405, "method_not_allowed", str(exc.detail)
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        status_code, code, message = 415, "unsupported_media_type", str(exc.detail)
    elif isinstance(exc, exceptions.NotAcceptable):
        status_code, code, message = 406, "not_acceptable", str(exc.detail)
    elif isinstance(exc, exceptions.Throttled):
        status_code, code, message = 429, "rate_limited", "Too many requests. Retry later."
        headers["Retry-After"] = str(int(exc.wait or 1))
    else:
        return None  # a real server error: the middleware answers 500 server_error

    auth_header = getattr(exc, "auth_header", None)
    if auth_header and status_code == 401:
        headers["WWW-Authenticate"] = auth_header
    return Response(error_body(code, message, request, **extra), status=status_code, headers=headers)
