"""Phone numbers in E.164, the one form Twilio and the CRM use."""

from django.core.validators import RegexValidator

E164 = RegexValidator(r"^\+[1-9]\d{1,14}$", "Use E.164: a + and the country code, e.g. +14155550123.")
