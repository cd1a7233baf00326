"""atheris: ``X-Forwarded-For`` and ``REMOTE_ADDR`` (core/net.py client_ip).

Whatever the headers and however many proxies are trusted, the answer is a canonical
IP address (what PostgreSQL's ``inet`` accepts) or ``""``.
"""

from __future__ import annotations

import ipaddress

from harness import lines, run, setup

setup("core.net")

from django.conf import settings  # noqa: E402  (after Django's setup)
from django.test import RequestFactory  # noqa: E402

from core.net import client_ip  # noqa: E402

FACTORY = RequestFactory()


def test_one_input(data: bytes) -> None:
    proxies, remote, forwarded = lines(data, 3)  # the number of trusted proxies, REMOTE_ADDR, X-Forwarded-For
    settings.TRUSTED_PROXY_COUNT = sum(map(ord, proxies or "")) % 4
    remote, forwarded = remote or "", forwarded or ""
    ip = client_ip(FACTORY.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded))
    if ip:
        assert str(ipaddress.ip_address(ip)) == ip, (remote, forwarded, ip)
        assert "%" not in ip, (remote, forwarded, ip)


if __name__ == "__main__":
    run(test_one_input)
