"""The peers' endpoints: the baseline's body behind each library's check."""

from __future__ import annotations

from typing import Any

from knox.auth import TokenAuthentication as KnoxTokenAuthentication  # type: ignore[import-untyped]  # no types
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView
from rest_framework_api_key.permissions import HasAPIKey, KeyParser

from bench.urls import BODY


class _Peer(APIView):
    authentication_classes: list[Any] = []
    throttle_classes: list[Any] = []

    def get(self, request: Request) -> Response:
        return Response(BODY)


class DrfApiKey(_Peer):
    permission_classes = [HasAPIKey]


class ApiKeyThrottle(SimpleRateThrottle):
    """Per API key, on the default cache (Redis): the fair peer of "check + rate limit"."""

    rate = "100000000/hour"

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": "drf-api-key", "ident": KeyParser().get(request) or ""}


class DrfApiKeyThrottled(DrfApiKey):
    throttle_classes = [ApiKeyThrottle]


class DrfToken(_Peer):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]


class Knox(_Peer):
    authentication_classes = [KnoxTokenAuthentication]
    permission_classes = [IsAuthenticated]
