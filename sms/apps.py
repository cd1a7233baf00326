from django.apps import AppConfig


class SmsConfig(AppConfig):
    """Assistants answer text messages through Twilio (SPEC §7): the webhooks Twilio calls."""

    name = "sms"
