"""gunicorn's settings in production: ``gunicorn -c config/gunicorn.py config.wsgi:application``.

Environment: ``PORT`` (``0.0.0.0:8000``), ``WEB_CONCURRENCY`` (workers, default 2 x CPUs + 1).
"""

import multiprocessing
import os

bind = os.environ.get("PORT", "0.0.0.0:8000")  # behind the load balancer
workers = int(os.environ.get("WEB_CONCURRENCY", str(multiprocessing.cpu_count() * 2 + 1)))
# SIGTERM: stop accepting, let the requests in hand finish for up to 30 s, then exit.
graceful_timeout = 30
timeout = 30
# Recycle workers now and then (memory growth), not all at once.
max_requests = 2000
max_requests_jitter = 200
# The JSON request log (core/middleware.py) is the access log: gunicorn's would be a second, unredacted one.
accesslog = None
errorlog = "-"
# Header limits (SPEC §10): a line over 8 KiB is refused before Django sees it.
limit_request_line = 8190
limit_request_field_size = 8190
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def worker_exit(server, worker):  # type: ignore[no-untyped-def]  # gunicorn's hook signature
    """A worker ends (SIGTERM, max_requests): hand off the request log entries it still buffers.

    gunicorn also calls this hook in the master for a reaped worker; only the worker itself has a buffer.
    """
    if os.getpid() == worker.pid:
        from apikeys.usage import flush_at_exit

        flush_at_exit()
