from django.urls import path

from assistants import api_v1

urlpatterns = [
    path("assistants", api_v1.AssistantListApi.as_view(), name="api-v1-assistants"),
    path(
        "assistants/<str:assistant_id>/completions", api_v1.CompletionApi.as_view(), name="api-v1-assistant-completions"
    ),
    path("conversations", api_v1.ConversationListApi.as_view(), name="api-v1-conversations"),
    path(
        "conversations/<str:conversation_id>/messages",
        api_v1.ConversationMessagesApi.as_view(),
        name="api-v1-conversation-messages",
    ),
]
