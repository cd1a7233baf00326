"""The real URLs plus ``/bench/baseline``: the same response as ``/api/v1/me`` without a key.

On a key-cache hit ``/api/v1/me`` does no database work, so the baseline does none
either: the ratio measures what the key check (lookup, checks, rate limit) costs.
"""

from django.conf import settings
from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as real_urlpatterns

BODY = {
    "workspace": {"id": 1, "name": "Bench", "plan": "pro"},
    "key": {"name": "bench", "hint": "wsk_live_AbCd…wxyz", "kind": "secret", "scopes": ["contacts:read"]},
}


class Baseline(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def get(self, request):  # type: ignore[no-untyped-def]  # benchmark only
        return Response(BODY)


urlpatterns = [path("bench/baseline", Baseline.as_view()), *real_urlpatterns]
if settings.PEERS:  # type: ignore[misc]  # bench.settings
    urlpatterns.insert(1, path("bench/peers/", include("bench.peers.urls")))
