"""``/api/widget/…``: the widget's public endpoints (SPEC §5)."""

from django.urls import path

from widget import api

urlpatterns = [
    path("tickets/create", api.TicketCreateApi.as_view(), name="widget-tickets-create"),
    path("<str:assistant_id>/config", api.ConfigApi.as_view(), name="widget-config"),
    path("<str:assistant_id>/session", api.SessionApi.as_view(), name="widget-session"),
    path("<str:assistant_id>/chat", api.ChatApi.as_view(), name="widget-chat"),
    path("<str:assistant_id>/history", api.HistoryApi.as_view(), name="widget-history"),
    path("<str:assistant_id>/lead", api.LeadApi.as_view(), name="widget-lead"),
    path("<str:assistant_id>/feedback", api.FeedbackApi.as_view(), name="widget-feedback"),
    path("<str:assistant_id>/qnas", api.QnasApi.as_view(), name="widget-qnas"),
    path("<str:assistant_id>/search", api.SearchApi.as_view(), name="widget-search"),
]
