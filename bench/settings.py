"""Benchmark settings: production settings plus a baseline endpoint (bench/urls.py)."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "0")

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
LOGGING = {**LOGGING, "root": {"handlers": ["console"], "level": "WARNING"}}  # noqa: F405
# The baseline (and the peers' endpoints) are not counted by the per-IP public limit:
# the baseline is "no check at all", and each peer brings its own check.
PUBLIC_RATE_LIMIT_EXEMPT = [*PUBLIC_RATE_LIMIT_EXEMPT, "/bench/"]  # noqa: F405

# The peers (bench/peers/), when the bench extra is installed: their apps and tables.
try:
    import knox  # type: ignore[import-untyped]  # noqa: F401  # knox ships no types
    import rest_framework_api_key  # noqa: F401
except ImportError:
    PEERS = False
else:
    PEERS = True
    INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework.authtoken", "rest_framework_api_key", "knox"]  # noqa: F405
# The revocation run answers thousands of 401s: Django's per-4xx warning would flood the output.
LOGGING["loggers"] = {**LOGGING.get("loggers", {}), "django.request": {"level": "ERROR"}}  # type: ignore[dict-item]  # a logging dict
