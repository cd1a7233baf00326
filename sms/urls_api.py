"""Twilio's webhooks, under ``/api/sms/`` (the names are what ``assistants.sms_out`` reverses)."""

from django.urls import path

from sms import api

urlpatterns = [
    path("webhook/<str:assistant_id>", api.InboundSmsApi.as_view(), name="sms-webhook"),
    path("status/<str:assistant_id>", api.SmsStatusApi.as_view(), name="sms-status"),
]
