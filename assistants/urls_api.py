from django.urls import path

from assistants import api

urlpatterns = [
    path("assistants", api.AssistantListApi.as_view(), name="api-assistants"),
    path("assistants/<str:assistant_id>", api.AssistantDetailApi.as_view(), name="api-assistant"),
    path("assistants/<str:assistant_id>/grants", api.AssistantGrantsApi.as_view(), name="api-assistant-grants"),
    path(
        "assistants/<str:assistant_id>/identity-secret",
        api.IdentitySecretApi.as_view(),
        name="api-assistant-identity-secret",
    ),
    path("chats", api.ChatListApi.as_view(), name="api-chats"),
    path("chats/<str:chat_id>/messages", api.ChatMessagesApi.as_view(), name="api-chat-messages"),
]
