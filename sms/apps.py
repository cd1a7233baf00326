from django.apps import AppConfig


class SmsConfig(AppConfig):
    """Twilio SMS webhooks (SPEC §7). Built by a later issue."""

    name = "sms"
