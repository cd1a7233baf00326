"""The real URLs plus one scoped endpoint, to exercise scope and plan checks
before the CRM endpoints exist. The view is an ordinary ApiV1View."""

from django.urls import path
from rest_framework.response import Response

from apikeys.api import ApiV1View
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


urlpatterns = [
    path("api/v1/probe/contacts", ContactsProbe.as_view()),
    path("api/v1/probe/forgetful", Forgetful.as_view()),
    *real_urlpatterns,
]
