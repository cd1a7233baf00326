"""``/bench/peers/<name>``: each peer's endpoint."""

from django.urls import path

from bench.peers import views

urlpatterns = [
    path("drf-api-key", views.DrfApiKey.as_view()),
    path("drf-api-key-throttle", views.DrfApiKeyThrottled.as_view()),
    path("drf-token", views.DrfToken.as_view()),
    path("knox", views.Knox.as_view()),
]
