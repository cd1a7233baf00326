"""The WSGI application (gunicorn: ``config.wsgi:application``)."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()
# Load the URLconf (and every view module) now, then freeze what the process has loaded:
# those objects live as long as the process, and a full collection no longer walks them
# (about 127,000 objects: some 130 ms a collection on a 2-core VM, one every few thousand
# requests; frozen, a full collection walks a few thousand). It also keeps the pages a
# worker shares with gunicorn's master from being copied by the collector's writes.
get_resolver().url_patterns  # noqa: B018  # the import of every urls.py and view module
gc.freeze()
