"""Settings that every request reads, as plain attributes: ``hot.API_RATE_LIMIT_BATCH``.

``django.conf.settings`` is a lazy proxy: each read of it runs ``LazyObject.__getattribute__``
in Python, about a microsecond, and a keyed ``/api/v1/`` request reads a dozen settings on
its way (issue #23). ``hot`` reads a setting once, keeps it as an attribute of its own (a
dictionary lookup from then on), and forgets everything it kept whenever a setting changes
(``setting_changed``, which ``override_settings`` and pytest-django's ``settings`` fixture
send), so what it answers is always what ``settings`` would.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed


class HotSettings:
    def __getattr__(self, name: str) -> Any:  # only for a name not kept yet
        if name.startswith("_"):
            raise AttributeError(name)
        value = getattr(settings, name)
        self.__dict__[name] = value
        return value

    def forget(self, **kwargs: Any) -> None:
        self.__dict__.clear()


hot = HotSettings()
setting_changed.connect(hot.forget, weak=False, dispatch_uid="core.conf.hot")
