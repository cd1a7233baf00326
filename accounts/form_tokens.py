"""One-time form tokens: a resubmitted form (reload, back button) must not write twice.

A page that makes something shown once (a new key, a signing secret) issues a
token with the form and spends it when the write succeeds; a second POST with the
same token finds it gone.
"""

from __future__ import annotations

import secrets

from django.http import HttpRequest

FORM_TOKENS_SESSION_KEY = "parley_form_tokens"
MAX_FORM_TOKENS = 20


def issue_form_token(request: HttpRequest) -> str:
    token = secrets.token_urlsafe(16)
    tokens = request.session.get(FORM_TOKENS_SESSION_KEY, [])[-(MAX_FORM_TOKENS - 1) :]
    request.session[FORM_TOKENS_SESSION_KEY] = [*tokens, token]
    return token


def _same(given: str, issued: str) -> bool:
    """Constant time, as every comparison of a secret here is (``in`` and ``==`` stop at the first difference)."""
    return secrets.compare_digest(given.encode(), issued.encode())


def form_token_valid(request: HttpRequest, token: str) -> bool:
    return bool(token) and any(_same(token, issued) for issued in request.session.get(FORM_TOKENS_SESSION_KEY, []))


def spend_form_token(request: HttpRequest, token: str) -> None:
    tokens = request.session.get(FORM_TOKENS_SESSION_KEY, [])
    request.session[FORM_TOKENS_SESSION_KEY] = [issued for issued in tokens if not _same(token, issued)]


def posted_or_new_token(request: HttpRequest) -> str:
    """The token the form posted, while it is still unspent; otherwise a new one."""
    token = request.POST.get("form_token", "")
    return token if form_token_valid(request, token) else issue_form_token(request)
