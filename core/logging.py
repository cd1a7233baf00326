"""Redaction of credentials from every log line (SPEC §2, §10)."""

from __future__ import annotations

import logging
import re

from django.views.debug import SafeExceptionReporterFilter

# Any Parley credential: secret/publishable keys and widget visitor tokens. A
# display hint (``wsk_live_AbCd…wxyz``) is too short to match and stays readable.
SECRET_PATTERN = re.compile(r"\b(wsk|wpk|wst)_(?:live_)?[A-Za-z0-9_-]{12,}")
HEADER_PATTERN = re.compile(
    r"(?i)((?:authorization|x[-_]api[-_]key|cookie|x[-_]twilio[-_]signature)[\"']?\s*[:=]\s*[\"']?)[^\"',\n}]+"
)


def redact(text: str) -> str:
    text = SECRET_PATTERN.sub(lambda m: f"{m.group(1)}_[REDACTED]", text)
    return HEADER_PATTERN.sub(lambda m: f"{m.group(1)}[REDACTED]", text)


_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class RedactSecretsFilter(logging.Filter):
    """Redacts credentials from a record's message, traceback and extra fields.

    Attached to every handler, so it also covers records propagated from
    ``django.request`` (whose ``request`` extra prints the URL, query string
    included) and ``django.server`` (the development server's access log).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            message = str(record.msg)
        record.msg, record.args = redact(message), ()
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        for name, value in list(record.__dict__.items()):
            if name in _STANDARD_ATTRS or value is None or isinstance(value, bool | int | float):
                continue
            record.__dict__[name] = redact(value if isinstance(value, str) else str(value))
        return True


class ExceptionReporterFilter(SafeExceptionReporterFilter):
    """Error reports never show credential headers or Parley keys."""

    hidden_settings = re.compile("API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|AUTHORIZATION", flags=re.I)
