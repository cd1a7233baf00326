"""Property tests (Hypothesis) of the parsers that read what an attacker writes.

The key format, the Standard Webhooks signer, and the readers of ``Authorization`` /
``X-Api-Key``, ``X-Forwarded-For`` and ``Origin`` / ``Referer``. Any text gives a value or
the documented error, never another exception; what comes out is clean (a key of the
format, an IP address PostgreSQL's ``inet`` takes, one spelling per origin). The same
parsers run under atheris in ``fuzz/`` (coverage-guided, for a bounded time in CI).
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
import uuid

import pytest
from django.test import Client, RequestFactory, override_settings
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rest_framework.request import Request
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from apikeys import keys
from apikeys.authentication import claimed_key
from core.errors import InvalidApiKey
from core.net import clean_ip, client_ip, request_origin
from core.origins import DEFAULT_PORTS, normalize_origin, origin_allowed
from tests import factories
from webhooks.signing import secret_generate, signed_headers

# What a WSGI server puts in a header: ISO-8859-1 text (PEP 3333), control characters included.
header_text = st.text(st.characters(max_codepoint=255), max_size=120)
key_chars = st.sampled_from(keys.ALPHABET + "_-+/=. \t")
key_like = st.one_of(
    st.text(key_chars, max_size=60),
    st.builds(
        lambda prefix, tail: prefix + tail,
        st.sampled_from(["wsk_live_", "wpk_live_", "wsk_", "wst_"]),
        st.text(key_chars, max_size=50),
    ),
    st.builds(lambda kind: keys.generate(kind), st.sampled_from(["secret", "publishable"])),
)
ip_text = st.one_of(
    st.ip_addresses().map(str),
    st.ip_addresses(v=4).map(lambda a: f"{a}:{a.packed[0] + 1}"),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]:443"),
    header_text,
)
xff_text = st.lists(ip_text, max_size=4).map(", ".join) | header_text
origin_text = st.one_of(
    st.builds(
        "{}://{}{}{}".format,
        st.sampled_from(["http", "https", "HTTPS", "ftp", ""]),
        st.from_regex(r"\A(\*\.)?[a-zA-Z0-9-]{1,10}(\.[a-zA-Z0-9-]{1,10}){0,3}\Z")
        | st.sampled_from(["[", "[::1]", "[fe80::1%25eth0]", "bücher.de", ""]),
        st.sampled_from(["", ":", ":80", ":443", ":0443", ":8080", ":65536", ":x", ":٣"]),
        st.sampled_from(["", "/", "/path", "?q", "#f", "@evil"]),
    ),
    header_text,
)


def _request(**meta: str) -> Request:
    return Request(RequestFactory().get("/api/v1/me", **meta))


# --- the key format (apikeys/keys.py) ---------------------------------------------------


@given(st.sampled_from(["secret", "publishable"]))
def test_every_generated_key_parses_as_its_kind(kind):
    key = keys.generate(kind)
    assert len(key) == keys.KEY_LENGTH
    assert keys.kind_of(key) == kind
    assert keys.hint(key).startswith(keys.PREFIXES[kind])


@given(st.sampled_from(["secret", "publishable"]), st.integers(min_value=9, max_value=keys.KEY_LENGTH - 1), key_chars)
def test_one_changed_character_is_refused(kind, position, char):
    key = keys.generate(kind)
    changed = key[:position] + char + key[position + 1 :]
    if changed != key:
        assert keys.kind_of(changed) is None


@given(key_like | header_text)
@example("wsk_live_" + "0" * 38)
def test_any_text_is_a_kind_or_none_never_an_exception(text):
    kind = keys.kind_of(text)
    assert kind in {None, "secret", "publishable"}
    if kind:
        assert text.startswith(keys.PREFIXES[kind])
        assert len(text) == keys.KEY_LENGTH
        assert keys.hint(text).endswith(text[-4:])


# --- the Standard Webhooks signer (webhooks/signing.py), verified by the library -----


@given(
    body=st.text(max_size=300).map(lambda text: json.dumps({"data": text}, ensure_ascii=False).encode()),
    msg_id=st.from_regex(r"\Aevt_[A-Za-z0-9]{1,32}\Z"),
    skew=st.integers(min_value=-240, max_value=240),
    previous=st.integers(min_value=0, max_value=2),
)
@settings(max_examples=60)
def test_the_library_verifies_every_signature_and_refuses_another_body(body, msg_id, skew, previous):
    secret, *older = [secret_generate() for _ in range(1 + previous)]
    timestamp = int(time.time()) + skew
    headers = signed_headers(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body, previous_secrets=older)
    for each in (secret, *older):  # a receiver holding any live secret accepts the message
        assert Webhook(each).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_generate()).verify(body, headers)


# --- Authorization / X-Api-Key (apikeys/authentication.py claimed_key) ----------------


@given(authorization=st.none() | header_text | key_like.map("Bearer {}".format), api_key=st.none() | key_like)
def test_claimed_key_is_ours_or_none_or_the_documented_refusal(authorization, api_key):
    meta = {}
    if authorization is not None:
        meta["HTTP_AUTHORIZATION"] = authorization
    if api_key is not None:
        meta["HTTP_X_API_KEY"] = api_key
    try:
        claimed = claimed_key(_request(**meta))
    except InvalidApiKey:  # two headers carrying different keys
        assert authorization
        assert (api_key or "").strip()
        return
    if claimed is not None:
        assert claimed
        assert claimed == claimed.strip()
        assert claimed == (api_key or "").strip() or claimed.startswith(("wsk_", "wpk_"))


# --- X-Forwarded-For (core/net.py client_ip) --------------------------------------------


def _is_clean_ip(value: str) -> bool:
    try:
        return str(ipaddress.ip_address(value)) == value and "%" not in value
    except ValueError:
        return False


@given(remote=ip_text, forwarded=xff_text, proxies=st.integers(min_value=0, max_value=3))
@example(remote="10.0.0.1", forwarded="'; drop table x; --", proxies=1)
@example(remote="10.0.0.1", forwarded="fe80::1%eth0", proxies=1)
@example(remote="", forwarded="", proxies=0)
def test_client_ip_is_always_a_clean_address_or_empty(remote, forwarded, proxies):
    with override_settings(TRUSTED_PROXY_COUNT=proxies):
        ip = client_ip(RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded))
    assert ip == "" or _is_clean_ip(ip), ip
    assert ip in {clean_ip(remote) or "", *(clean_ip(part) for part in forwarded.split(","))}


@given(st.ip_addresses())
def test_a_proxy_s_entry_is_the_client_in_canonical_form(address):
    with override_settings(TRUSTED_PROXY_COUNT=1):
        request = RequestFactory().get(
            "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"198.51.100.7, {address.exploded}"
        )
        assert client_ip(request) == str(address)


# --- Origin / Referer (core/net.py request_origin, core/origins.py) ---------------------


@given(origin=st.none() | origin_text, referer=st.none() | origin_text)
@example(origin=None, referer="http://[")
@example(origin=None, referer="http://[::1")
def test_request_origin_never_raises(origin, referer):
    meta = {}
    if origin is not None:
        meta["HTTP_ORIGIN"] = origin
    if referer is not None:
        meta["HTTP_REFERER"] = referer
    found = request_origin(RequestFactory().get("/", **meta))
    assert found is None or isinstance(found, str)
    assert isinstance(origin_allowed(found, ["https://shop.example.com", "https://*.example.org"]), bool)


@given(origin_text)
@example("https://Shop.Example.com:443/")
@example("http://[")
@example("https://bücher.de")
@example("https://x.com:0443")
def test_an_origin_normalizes_to_one_spelling_or_is_refused(text):
    try:
        origin = normalize_origin(text)
    except ValueError as error:
        refusal = str(error)
        origin = None
    if origin is None:
        if re.fullmatch(r"(?i)https?://bücher\.de(:[1-9][0-9]{0,3})?/?", text):
            assert "xn--bcher-kva.de" in refusal  # an international name is told its ASCII form
        return
    assert normalize_origin(origin) == origin  # one spelling: normalizing again changes nothing
    if origin != "*":
        scheme, _, netloc = origin.partition("://")
        assert scheme in {"http", "https"}
        assert netloc == netloc.lower()
        assert netloc.isascii()
        port = (netloc.rpartition("]")[2] if netloc.startswith("[") else netloc).partition(":")[2]
        assert port != str(DEFAULT_PORTS[scheme])
        assert not port.startswith("0")
        assert origin_allowed(origin, [origin])


def test_default_ports_leading_zeros_and_idn_have_one_answer():
    assert normalize_origin("https://Shop.Example.com:443/") == "https://shop.example.com"
    assert normalize_origin("http://shop.example.com:80") == "http://shop.example.com"
    assert normalize_origin("https://shop.example.com:8443") == "https://shop.example.com:8443"
    assert normalize_origin("https://[0:0::1]:443") == "https://[::1]"
    for refused in ("https://shop.example.com:0443", "https://shop.example.com:", "https://shop.example.com:65536"):
        with pytest.raises(ValueError, match="without leading zeros"):
            normalize_origin(refused)
    with pytest.raises(ValueError, match=r"xn--bcher-kva\.de"):
        normalize_origin("https://bücher.de")
    assert origin_allowed("https://shop.example.com:443", ["https://shop.example.com"])


@pytest.fixture
def writer_key(workspace, settings) -> str:
    settings.TRUSTED_PROXY_COUNT = 1
    settings.API_AUTH_FAILURE_RATE = "100000/m"
    return factories.make_key(workspace, scopes=["contacts:read", "contacts:write"], rate_limit="100000/h")[1]


# --- the same parsers behind the real stack: junk is a 4xx, never a 500 -----------------


@pytest.mark.django_db
@given(forwarded=xff_text, authorization=header_text, referer=origin_text)
@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@example(forwarded="not-an-ip", authorization="Bearer wsk_live_x", referer="http://[")
def test_junk_headers_get_an_answer_never_a_server_error(forwarded, authorization, referer, writer_key):
    """On PostgreSQL the client IP reaches an ``inet`` column (the audit log): junk must not."""
    client = Client(HTTP_X_FORWARDED_FOR=forwarded, HTTP_REFERER=referer)
    created = client.post(
        "/api/v1/contacts",
        {"name": "Fuzz", "email": f"fuzz-{uuid.uuid4().hex}@example.com"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {writer_key}",
    )
    assert created.status_code == 201, created.content[:300]
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=authorization).status_code < 500
