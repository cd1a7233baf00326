"""Framing headers as a browser sees them: DENY everywhere, origins only where allowed."""

import pytest
from django.http import HttpResponse

from core.framing import allow_framing

pytestmark = pytest.mark.urls("tests.core.framing_urls")


def csp_directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return dict(part.strip().partition(" ")[::2] for part in policy.split(";") if part.strip())


def test_an_ordinary_page_may_not_be_framed(client):
    response = client.get("/ordinary/")
    assert response["X-Frame-Options"] == "DENY"
    assert csp_directives(response)["frame-ancestors"] == "'none'"


@pytest.mark.parametrize(
    ("path", "frame_ancestors"),
    [
        ("/framable/", "https://shop.example.com"),
        ("/frame/shop/", "https://shop.example.com https://*.example.org"),
        ("/frame/none/", "'self'"),
    ],
)
def test_a_relaxed_page_names_who_may_frame_it(client, path, frame_ancestors):
    response = client.get(path)
    assert "X-Frame-Options" not in response
    assert f"frame-ancestors {frame_ancestors}" in response["Content-Security-Policy"]
    assert csp_directives(response)["frame-ancestors"] == frame_ancestors


def test_only_frame_ancestors_changes(client):
    ordinary = csp_directives(client.get("/ordinary/"))
    relaxed = csp_directives(client.get("/framable/"))
    assert relaxed["script-src"] == "'self'"
    assert {k: v for k, v in relaxed.items() if k != "frame-ancestors"} == {
        k: v for k, v in ordinary.items() if k != "frame-ancestors"
    }
    for header in ["X-Content-Type-Options", "Referrer-Policy"]:
        assert client.get("/framable/")[header] == client.get("/ordinary/")[header]


def test_ipv6_and_port_origins_are_kept():
    response = allow_framing(HttpResponse(), ["http://[::1]:8000", "https://shop.example.com:8443", "*"])
    assert response._csp_replace["frame-ancestors"] == ["http://[::1]:8000", "https://shop.example.com:8443", "*"]


def test_a_header_the_view_set_is_dropped_and_its_csp_replacements_kept():
    response = HttpResponse()
    response["X-Frame-Options"] = "SAMEORIGIN"
    response._csp_replace = {"img-src": ["https://cdn.example.com"]}
    allow_framing(response, ["https://shop.example.com"])
    assert "X-Frame-Options" not in response
    assert response._csp_replace == {
        "img-src": ["https://cdn.example.com"],
        "frame-ancestors": ["https://shop.example.com"],
    }


@pytest.mark.parametrize(
    "origin",
    [
        "https://shop.example.com;sandbox",
        "https://shop.example.com; script-src *",
        "https://shop.example.com sandbox",
        "https://bücher.example",
        "shop.example.com",
        "https://shop.example.com/path",
        "'none'",
        "",
    ],
)
def test_what_is_not_an_origin_never_reaches_the_header(origin):
    with pytest.raises(ValueError, match=r"origin|wildcard"):
        allow_framing(HttpResponse(), [origin])
