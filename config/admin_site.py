"""The admin site: no admin page echoes, or keeps in its URL, a Parley credential (SPEC §8)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import unquote_plus, urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from core.logging import SECRET_PATTERN

_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])
FIND_KEY_URL_NAME = "admin:apikeys_apikey_find"
KEY_IN_URL_MESSAGE = "Paste keys into this form, never into a search box or URL."


def url_mentions_secret(request: HttpRequest) -> bool:
    """Whether the path or query string holds a credential, however percent-encoded.

    Decoded a few times over: preserved changelist filters nest one query string in another.
    """
    text = f"{request.path}?{request.META.get('QUERY_STRING', '')}"
    for _ in range(3):
        if SECRET_PATTERN.search(text):
            return True
        decoded = unquote_plus(text)
        if decoded == text:
            return False
        text = decoded
    return bool(SECRET_PATTERN.search(text))


def without_secrets(response: HttpResponseBase) -> HttpResponseBase:
    """An admin page never shows a credential, whatever was typed into which field.

    Keys are never stored on purpose, but a person can paste one anywhere (a name, a
    reason): the rendered HTML is redacted, so no page echoes it back.
    """
    render = getattr(response, "render", None)
    if render is not None and not getattr(response, "is_rendered", True):
        render()
    if not response.get("Content-Type", "").startswith("text/html") or getattr(response, "streaming", False):
        return response
    html = response.content.decode(response.charset)  # type: ignore[attr-defined]  # an HttpResponse: not streaming
    redacted = SECRET_PATTERN.sub(lambda m: f"{m.group(1)}_[REDACTED]", html)
    if redacted != html:
        response.content = redacted.encode(response.charset)  # type: ignore[attr-defined]  # see above
    return response


class ParleyAdminSite(admin.AdminSite):
    """Sends a request whose URL holds a key to the find-a-key form, before any page can echo it.

    Checked ahead of the login redirect too, whose ``?next=`` would carry the key along.
    """

    def admin_view(self, view: _View, cacheable: bool = False) -> _View:
        return cast(_View, self._refuse_secrets_in_url(super().admin_view(view, cacheable)))

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """The admin has no password form of its own: people sign in where everyone does.

        ``/accounts/login/`` is rate limited (failed logins per address and per account),
        turns the session key over and may use SSO; Django's admin form would take
        password guesses without any limit. A signed-in member of staff goes on to the
        admin; a signed-in user who is not staff gets the 403 page, never a second form.
        """
        if url_mentions_secret(request):
            return self._to_find_form(request)
        next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = ""
        next_url = next_url or reverse("admin:index", current_app=self.name)
        if not request.user.is_authenticated:
            return HttpResponseRedirect(
                f"{resolve_url(settings.LOGIN_URL)}?{urlencode({REDIRECT_FIELD_NAME: next_url})}"
            )
        if not self.has_permission(request):
            raise PermissionDenied
        return HttpResponseRedirect(next_url)

    def _refuse_secrets_in_url(self, view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if url_mentions_secret(request):
                return self._to_find_form(request)
            return without_secrets(view(request, *args, **kwargs))

        return guarded

    def _to_find_form(self, request: HttpRequest) -> HttpResponse:
        messages.warning(request, KEY_IN_URL_MESSAGE)
        return HttpResponseRedirect(reverse(FIND_KEY_URL_NAME, current_app=self.name))
