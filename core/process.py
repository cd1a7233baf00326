"""This process's id as a plain value, kept right across ``fork``: no system call to read it.

``os.getpid()`` is a system call; the key check asks "am I still the process that started
this thread or opened this connection?" several times a request (issue #23). ``process.pid``
is set again in a forked child before any of its code runs (``os.register_at_fork``: this
module registers first, as everything that asks imports it first).
"""

from __future__ import annotations

import os

pid = os.getpid()


def _forked() -> None:
    global pid  # the one place it changes
    pid = os.getpid()


os.register_at_fork(after_in_child=_forked)
