"""What the hot path reads without a call: settings (``core.conf.hot``), the process id
(``core.process.pid``) and the cache (``core.cache.default_cache``) answer as Django would."""

from __future__ import annotations

import os
import threading

from django.core.cache import caches
from django.test import override_settings

from core import process
from core.cache import default_cache
from core.conf import hot

OTHER_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "hot-path-test"}}


def test_a_setting_read_through_hot_follows_every_override_and_its_end(settings):
    def batch() -> int:
        return hot.API_RATE_LIMIT_BATCH

    before = batch()
    assert before == settings.API_RATE_LIMIT_BATCH
    with override_settings(API_RATE_LIMIT_BATCH=before + 7):
        assert batch() == before + 7
    assert batch() == before
    settings.API_RATE_LIMIT_BATCH = 3  # pytest-django's fixture sends setting_changed too
    assert batch() == 3


def test_a_missing_setting_is_an_attribute_error_as_with_settings():
    try:
        hot.NO_SUCH_SETTING_ANYWHERE  # noqa: B018  # the read is the test
    except AttributeError:
        pass
    else:
        raise AssertionError("hot answered a setting that does not exist")


def test_the_process_id_is_right_in_a_forked_child():
    assert process.pid == os.getpid()
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: report what process.pid says, and what the system says
        os.write(write, f"{process.pid} {os.getpid()}".encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    seen, actual = os.read(read, 64).decode().split()
    os.close(read)
    assert seen == actual == str(child)


def test_default_cache_is_this_threads_default_cache_and_follows_a_change_of_caches():
    assert default_cache() is caches["default"]
    with override_settings(CACHES=OTHER_CACHE):
        assert default_cache() is caches["default"]
    assert default_cache() is caches["default"]
    in_thread: list[object] = []
    thread = threading.Thread(target=lambda: in_thread.append((default_cache(), caches["default"])))
    thread.start()
    thread.join()
    (seen, theirs) = in_thread[0]
    assert seen is theirs  # Django makes one per thread...
    assert seen is not default_cache()  # ...and so does this
