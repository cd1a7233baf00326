"""The real URLs plus one scoped endpoint, to exercise scope and plan checks
before the CRM endpoints exist. The view is an ordinary ApiV1View."""

from django.urls import path
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.api import ApiV1View
from apikeys.authentication import ApiKeyAuthentication
from apikeys.records import KeyRecord
from config.urls import urlpatterns as real_urlpatterns


class ContactsProbe(ApiV1View):
    required_scopes = {"GET": "contacts:read", "POST": "contacts:write"}

    def get(self, request):
        return Response({"results": []})

    def post(self, request):
        return Response({"created": True}, status=201)


class Forgetful(ApiV1View):
    """Declares no scopes: must fail loudly, not grant by default."""

    def get(self, request):
        return Response({})


class VisitorTokenProbeAuthentication(BaseAuthentication):
    """Stands in for the widget's visitor tokens: it claims ``Bearer wst_…`` and nothing else."""

    def authenticate(self, request):
        scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "bearer" and token.startswith("wst_"):
            return None, f"visitor:{token}"
        return None


class WhoIsCalling(APIView):
    """API keys first, visitor tokens second, as a widget endpoint will chain them."""

    authentication_classes = [ApiKeyAuthentication, VisitorTokenProbeAuthentication]
    permission_classes = [AllowAny]

    def get(self, request):
        if isinstance(request.auth, KeyRecord):
            return Response({"credential": "api_key", "hint": request.auth.hint})
        return Response({"credential": request.auth})


urlpatterns = [
    path("api/probe/who", WhoIsCalling.as_view()),
    path("api/v1/probe/contacts", ContactsProbe.as_view()),
    path("api/v1/probe/forgetful", Forgetful.as_view()),
    *real_urlpatterns,
]
