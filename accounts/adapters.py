"""django-allauth adapter: sign-up also creates the personal workspace; one rule for the client's address."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from accounts.services import user_signup_complete
from core.net import client_ip


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            user_signup_complete(user=user, email_verified=False)
        return user

    def get_client_ip(self, request: HttpRequest) -> str:
        """The address allauth's rate limits (logins, sign-ups, password resets) count per.

        ``core.net.client_ip``, as every other limit: ``REMOTE_ADDR``, or the
        ``X-Forwarded-For`` entry of ``TRUSTED_PROXY_COUNT``. allauth's own rule reads
        ``ALLAUTH_TRUSTED_PROXY_COUNT``, which would count every client behind our proxy
        as one address (ten failed logins by anyone would lock everyone out).
        """
        return client_ip(request) or super().get_client_ip(request)
