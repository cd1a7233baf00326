"""GitHub's secret-scanning partner program: checking a report's signature, and reading the report.

GitHub signs each report: ``Github-Public-Key-Identifier`` names one of its keys and
``Github-Public-Key-Signature`` is a base64 DER ECDSA (P-256, SHA-256) signature of the
raw body. The keys are GitHub's public list (``SECRET_SCANNING_GITHUB_KEYS_URL``,
``{"public_keys": [{"key_identifier", "key" (PEM), "is_current"}]}``); every key it
lists verifies (``is_current`` or not: GitHub lists the keys it may still sign with).

The list is kept in the shared cache for an hour and fetched again when a report names
a key it does not hold — at most once a minute, per process and across processes while
the shared cache answers, so forged identifiers cannot make Parley hammer GitHub. While
GitHub cannot be reached the last list fetched is used; with none at all, a report is
answered 503. The fetch waits at most 5 s to connect and for each read, reads at most
256 KiB, and follows a redirect only to the same scheme, host and port.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature as BadSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.cache import cache

from core.errors import InvalidInput, InvalidSignature, ServiceUnavailable
from core.parsers import LimitedJSONParser

logger = logging.getLogger(__name__)

KEY_ID_HEADER = "Github-Public-Key-Identifier"
SIGNATURE_HEADER = "Github-Public-Key-Signature"
CACHE_KEY = "secret-scanning:github-keys"
CACHE_SECONDS = 3600  # a list this old is fetched again before it is trusted
KEEP_SECONDS = 7 * 86400  # kept this long to fall back on while GitHub cannot be reached
REFETCH_INTERVAL = 60  # seconds: at most one fetch this often
FETCH_TIMEOUT = 5  # seconds, to connect and for each read
MAX_KEY_LIST_BYTES = 256 * 1024
MAX_HEADER_LENGTH = 1024
USER_AGENT = "Parley-Secret-Scanning/1.0"


class GitHubSignatureInvalid(InvalidSignature):
    message = "GitHub signature missing or wrong"
    hint = (
        "Sign the raw body with one of GitHub's secret-scanning keys and send its id in "
        "Github-Public-Key-Identifier and the base64 signature in Github-Public-Key-Signature."
    )


class KeyListUnavailable(Exception):
    """GitHub's key list could not be fetched or read."""


class KeysUnreachable(ServiceUnavailable):
    message = "GitHub's secret-scanning keys cannot be fetched right now, so the report cannot be checked."
    retry_after = REFETCH_INTERVAL


@dataclass(frozen=True)
class ReportedToken:
    """One entry of a report: the string found, GitHub's name for its type, where and in what."""

    token: str
    type: str
    url: str
    source: str


# --- GitHub's keys


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to the same scheme, host and port (never to another host)."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        old, new = urlsplit(req.full_url), urlsplit(newurl)
        if (new.scheme, new.hostname, new.port) != (old.scheme, old.hostname, old.port):
            raise KeyListUnavailable(f"redirected to another host ({new.hostname}); not followed")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _fetch_keys(url: str) -> dict[str, str]:
    """``{key_identifier: PEM}`` from GitHub's list at ``url``; ``KeyListUnavailable`` otherwise."""
    if urlsplit(url).scheme not in ("https", "http"):
        raise KeyListUnavailable("SECRET_SCANNING_GITHUB_KEYS_URL must be an http(s) URL")
    opener = urllib.request.build_opener(_SameOriginRedirects)
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": USER_AGENT})  # noqa: S310  # http(s) only, checked above
    try:
        with opener.open(request, timeout=FETCH_TIMEOUT) as answer:
            raw = answer.read(MAX_KEY_LIST_BYTES + 1)
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise KeyListUnavailable(str(exc)) from None
    if len(raw) > MAX_KEY_LIST_BYTES:
        raise KeyListUnavailable("the key list is larger than 256 KiB")
    try:
        listed = json.loads(raw)["public_keys"]
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyListUnavailable(f"not GitHub's key list: {exc}") from None
    if not isinstance(listed, list):
        raise KeyListUnavailable("public_keys is not a list")
    return {
        entry["key_identifier"]: entry["key"]
        for entry in listed
        if isinstance(entry, dict)
        and isinstance(entry.get("key_identifier"), str)
        and isinstance(entry.get("key"), str)
    }


_refetch = {"at": float("-inf")}
_refetch_lock = threading.Lock()


def _process_may_fetch() -> bool:
    """At most one fetch a minute from this process, whatever the shared cache says (or when it is down)."""
    with _refetch_lock:
        now = time.monotonic()
        if abs(now - _refetch["at"]) < REFETCH_INTERVAL:
            return False
        _refetch["at"] = now
        return True


def _cached() -> dict[str, Any] | None:
    """``{"keys": {id: PEM}, "fetched_at": unix seconds}`` as the last fetch (of any process) left it."""
    value = cache.get(CACHE_KEY)
    if isinstance(value, dict) and isinstance(value.get("keys"), dict) and isinstance(value.get("fetched_at"), float):
        return value
    return None


def github_public_key(key_id: str) -> str | None:
    """The PEM of GitHub's key ``key_id`` (``None``: GitHub does not list it).

    From the shared cache while the list there is under an hour old and holds the key;
    otherwise fetched again, unless some process fetched it less than a minute ago or
    this one tried to. When a fetch fails the last list is used, however old;
    ``KeysUnreachable`` when there is none.
    """
    cached = _cached()
    now = time.time()
    age = now - cached["fetched_at"] if cached else None
    if cached and age is not None and 0 <= age < CACHE_SECONDS and key_id in cached["keys"]:
        return cached["keys"][key_id]
    fetched_lately = age is not None and abs(age) < REFETCH_INTERVAL
    if fetched_lately or not _process_may_fetch():
        if cached is None:
            raise KeysUnreachable
        return cached["keys"].get(key_id)
    try:
        keys = _fetch_keys(settings.SECRET_SCANNING_GITHUB_KEYS_URL)
    except KeyListUnavailable as exc:
        logger.warning("GitHub's secret-scanning keys could not be fetched: %s", exc)
        if cached is None:
            raise KeysUnreachable from None
        return cached["keys"].get(key_id)
    cache.set(CACHE_KEY, {"keys": keys, "fetched_at": now}, KEEP_SECONDS)
    return keys.get(key_id)


def github_keys_forget() -> None:
    """Forget the cached keys and when this process last fetched them (a new deployment's state; for tests)."""
    with _refetch_lock:
        _refetch["at"] = float("-inf")
    cache.delete(CACHE_KEY)


def verify_github_signature(*, body: bytes, key_id: str, signature: str) -> None:
    """``GitHubSignatureInvalid`` unless ``signature`` is GitHub's key ``key_id``'s ECDSA signature of ``body``."""
    key_id, signature = key_id.strip(), signature.strip()
    if not key_id or not signature or len(key_id) > MAX_HEADER_LENGTH:
        raise GitHubSignatureInvalid
    pem = github_public_key(key_id)
    if pem is None:
        raise GitHubSignatureInvalid
    try:
        public_key = serialization.load_pem_public_key(pem.encode())
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(public_key.curve, ec.SECP256R1):
            raise GitHubSignatureInvalid
        public_key.verify(base64.b64decode(signature, validate=True), body, ec.ECDSA(hashes.SHA256()))
    except (BadSignature, UnsupportedAlgorithm, ValueError, TypeError, binascii.Error):
        raise GitHubSignatureInvalid from None


# --- the report


def parse_report(body: bytes) -> list[ReportedToken]:
    """GitHub's report, ``[{"token", "type", "url", "source"}, …]``; a 400 naming each bad entry otherwise."""
    data = LimitedJSONParser().parse(io.BytesIO(body), parser_context={"encoding": "utf-8"})
    if not isinstance(data, list):
        raise InvalidInput({"body": ['Send a JSON list of {"token", "type", "url", "source"}.']})
    reported, refused = [], {}
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            refused[str(index)] = ['Each entry is an object {"token", "type", "url", "source"}.']
            continue
        problems = [
            f"{name}: a string is required." for name in ("token", "type") if not isinstance(entry.get(name), str)
        ]
        problems += [
            f"{name}: must be a string." for name in ("url", "source") if not isinstance(entry.get(name, ""), str)
        ]
        if isinstance(entry.get("token"), str) and not entry["token"]:
            problems.append("token: must not be empty.")
        if problems:
            refused[str(index)] = problems
            continue
        reported.append(ReportedToken(entry["token"], entry["type"], entry.get("url", ""), entry.get("source", "")))
    if refused:
        raise InvalidInput(refused)
    return reported
