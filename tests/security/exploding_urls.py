"""The real URLs plus a view with a bug in it on every surface: what does a client see of a 500?"""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from tests.core.exploding_urls import Buggy
from tests.core.exploding_urls import urlpatterns as with_buggy_api


def buggy_page(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom: secret internals")


urlpatterns = [
    path("buggy-page", buggy_page),
    path("api/widget/buggy", Buggy.as_view()),
    path("api/v1/buggy", Buggy.as_view()),
    *with_buggy_api,
]
