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
