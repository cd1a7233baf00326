from django.urls import path

from apikeys import api

urlpatterns = [
    path("me", api.MeApi.as_view(), name="api-v1-me"),
]
