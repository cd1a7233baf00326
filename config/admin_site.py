"""The admin site: no admin page echoes, or keeps in its URL, a Parley credential (SPEC §8)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import unquote_plus

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import reverse

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


class ParleyAdminSite(admin.AdminSite):
    """Sends a request whose URL holds a key to the find-a-key form, before any page can echo it.

    Checked ahead of the login redirect too, whose ``?next=`` would carry the key along.
    """

    def admin_view(self, view: _View, cacheable: bool = False) -> _View:
        return cast(_View, self._refuse_secrets_in_url(super().admin_view(view, cacheable)))

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if url_mentions_secret(request):
            return self._to_find_form(request)
        return super().login(request, extra_context)

    def _refuse_secrets_in_url(self, view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if url_mentions_secret(request):
                return self._to_find_form(request)
            return view(request, *args, **kwargs)

        return guarded

    def _to_find_form(self, request: HttpRequest) -> HttpResponse:
        messages.warning(request, KEY_IN_URL_MESSAGE)
        return HttpResponseRedirect(reverse(FIND_KEY_URL_NAME, current_app=self.name))
