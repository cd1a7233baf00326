from django.urls import path

from webhooks import api

urlpatterns = [
    path("hooks", api.HookListApi.as_view(), name="api-v1-hooks"),
    path("hooks/<str:hook_id>", api.HookDetailApi.as_view(), name="api-v1-hook"),
    path("hooks/<str:hook_id>/roll-secret", api.HookSecretRollApi.as_view(), name="api-v1-hook-roll-secret"),
    path("hooks/<str:hook_id>/replay", api.HookReplayApi.as_view(), name="api-v1-hook-replay"),
    path("events", api.EventListApi.as_view(), name="api-v1-events"),
]
