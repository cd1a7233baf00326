"""Settings for the test suite: the local defaults plus a fast password hasher."""

from .base import env_bool
from .local import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
ACCOUNT_RATE_LIMITS = False  # type: ignore[assignment]  # allauth documents False as "no limits"
# Serve static files straight from the finders (no collectstatic before tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# No recording thread in the test process: tests flush with apikeys.usage.flush() (the
# servers of tests/live.py run it, as production does).
API_REQUEST_LOG_BACKGROUND = env_bool("API_REQUEST_LOG_BACKGROUND", False)
