"""The public REST API's base view and ``GET /api/v1/me`` (SPEC §4)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponseBase
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.actors import Actor
from accounts.models import Plan
from apikeys.authentication import ApiKeyAuthentication, missing_key_error
from apikeys.idempotency import idempotent, requested_key
from apikeys.models import ApiKey
from apikeys.permissions import KEY_PERMISSIONS
from apikeys.records import KeyRecord
from apikeys.schema import ApiV1AutoSchema
from core.api_filters import refuse_null_characters
from core.context import request_state
from core.net import client_ip


class ApiV1View(APIView):
    """Base of every ``/api/v1/`` view: API keys only, checks in SPEC §2 order.

    Subclasses declare ``required_scopes = {"GET": "x:read", "POST": "x:write"}``, and
    ``@extend_schema(operation_id=…, request=…, responses=…)`` on each method for the
    OpenAPI document (``ApiV1AutoSchema`` adds the scopes, auth and check-chain errors).
    Authenticators that are not ours may be added after ``ApiKeyAuthentication``;
    a request that none of them claims is a 401 with a hint saying what to send.
    """

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = KEY_PERMISSIONS
    throttle_classes: list[Any] = []  # the rate limit is a step of the permission chain
    schema = ApiV1AutoSchema()

    @property
    def client_ip(self) -> str:
        return client_ip(self.request)

    @property
    def actor(self) -> Actor:
        """The calling key, as services and the audit log name who did a write."""
        return Actor.for_api_key(key_id=self.key.id, hint=self.key.hint, ip=self.client_ip)

    @property
    def key(self) -> KeyRecord:
        return self.request.auth  # type: ignore[return-value]  # guaranteed by the permissions

    def perform_authentication(self, request: Request) -> None:
        super().perform_authentication(request)
        if not isinstance(request.auth, KeyRecord):
            raise missing_key_error(request)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        refuse_null_characters(request, kwargs.values())  # after the checks: they answer first

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """DRF's ``APIView.dispatch``, with one change: a ``POST`` that carries an
        ``Idempotency-Key`` runs its handler through ``apikeys.idempotency`` once the
        key checks have passed, so its work and its stored answer commit together."""
        self.args, self.kwargs = args, kwargs
        drf_request = self.initialize_request(request, *args, **kwargs)
        self.request = drf_request
        self.headers = self.default_response_headers
        try:
            self.initial(drf_request, *args, **kwargs)
            method = (request.method or "").lower()  # the Django request's (DRF's proxy misses first)
            handler = getattr(self, method, self.http_method_not_allowed)
            if method not in self.http_method_names:
                handler = self.http_method_not_allowed
            key = requested_key(drf_request) if method == "post" else None
            if key is None:
                response = handler(drf_request, *args, **kwargs)
            else:
                response = idempotent(
                    drf_request, api_key_id=self.key.id, key=key, run=lambda: self._handled(handler, *args, **kwargs)
                )
        except Exception as exc:
            response = self.handle_exception(exc)
        self.response = self.finalize_response(drf_request, response, *args, **kwargs)
        return self.response

    def _handled(self, handler: Any, *args: Any, **kwargs: Any) -> Response:
        """The handler's answer, its refusals (``ServiceError``…) already turned into responses."""
        try:
            response: Response = handler(self.request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        return response

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        usage = request_state(request).rate_limit
        if usage is not None:
            # Straight into the header store, as ``response[name] = value`` would put them: the names
            # and values are ours and ASCII, so Django's per-header charset checks (five headers: a
            # tenth of a warm request's check) have nothing to find.
            response.headers._store.update(usage.header_entries())
        return response


class MeApi(ApiV1View):
    """The key's workspace and the key itself (never its digest or plain value)."""

    required_scopes = {"GET": None}

    @extend_schema_serializer(component_name="Me")
    class OutputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="MeWorkspace")
        class WorkspaceSerializer(serializers.Serializer):
            id = serializers.IntegerField(source="workspace_id")
            name = serializers.CharField(source="workspace_name")
            plan = serializers.ChoiceField(choices=Plan.choices, source="workspace_plan")

        @extend_schema_serializer(component_name="MeKey")
        class KeySerializer(serializers.Serializer):
            name = serializers.CharField()
            hint = serializers.CharField(help_text="The key's first and last characters, e.g. wsk_live_AbCd…wxyz.")
            kind = serializers.ChoiceField(choices=ApiKey.Kind.choices)
            scopes = serializers.ListField(child=serializers.CharField())
            expires_at = serializers.DateTimeField(source="expiry", allow_null=True)

        workspace = WorkspaceSerializer(source="*")
        key = KeySerializer(source="*")

    @extend_schema(operation_id="get_me", summary="The key and its workspace", responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        # Built directly, once per key record: on this hot endpoint a nested DRF serializer costs
        # more than the whole key check. OutputSerializer documents the same layout (the schema),
        # and tests pin it.
        return Response(self.key.summary)
