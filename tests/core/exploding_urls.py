"""The real URLs plus an API view with a bug in it, to see what a client gets from a 500."""

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from config.urls import urlpatterns as real_urlpatterns


class Buggy(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("boom: secret internals")


urlpatterns = [path("api/buggy", Buggy.as_view()), *real_urlpatterns]
