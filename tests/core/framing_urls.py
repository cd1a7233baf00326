"""An HTML page framable by one origin and an ordinary one, for the framing tests only."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from core.framing import allow_framing, framable_by

PAGE = "<!doctype html><title>Page</title><p>Hello</p>"


def ordinary(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE)


@framable_by(lambda request: ["https://shop.example.com"])
def framable(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE)


def frame(request: HttpRequest, name: str) -> HttpResponse:
    """As the widget frame will: the view knows the origins once it has loaded its object."""
    origins = {"none": [], "shop": ["https://Shop.Example.com/", "https://*.example.org"]}[name]
    return allow_framing(HttpResponse(PAGE), origins)


urlpatterns = [
    path("ordinary/", ordinary),
    path("framable/", framable),
    path("frame/<str:name>/", frame),
]
