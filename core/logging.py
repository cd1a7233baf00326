"""Redaction of credentials from every log line (SPEC §2, §10)."""

from __future__ import annotations

import logging
import re

from django.views.debug import SafeExceptionReporterFilter

# Any Parley credential: secret/publishable keys and widget visitor tokens.
SECRET_PATTERN = re.compile(r"\b(wsk|wpk|wst)_[A-Za-z0-9_]+")
HEADER_PATTERN = re.compile(
    r"(?i)((?:authorization|x-api-key|cookie|x-twilio-signature)[\"']?\s*[:=]\s*[\"']?)[^\"',\n}]+"
)


def redact(text: str) -> str:
    text = SECRET_PATTERN.sub(lambda m: f"{m.group(1)}_[REDACTED]", text)
    return HEADER_PATTERN.sub(lambda m: f"{m.group(1)}[REDACTED]", text)


class RedactSecretsFilter(logging.Filter):
    """Rewrites a record's message with every credential redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


class ExceptionReporterFilter(SafeExceptionReporterFilter):
    """Error reports never show credential headers or Parley keys."""

    hidden_settings = re.compile("API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|AUTHORIZATION", flags=re.I)
