"""Single sign-on through OpenID Connect (Auth0 in production).

Users are keyed by (issuer, ``sub``), never by email alone. An existing local
account with the same email is linked only when the provider asserts
``email_verified``; otherwise the login is refused rather than handing that
account to whoever controls the SSO identity.
"""

from __future__ import annotations

import logging
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts.actors import Actor
from accounts.models import SsoIdentity, User
from accounts.services import audit_event_create, user_signup_complete

logger = logging.getLogger("parley.sso")


def sso_enabled() -> bool:
    return bool(settings.OIDC_RP_CLIENT_ID and settings.OIDC_OP_AUTHORIZATION_ENDPOINT)


class ParleyOIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc backend keyed by (issuer, sub), with issuer and audience checks."""

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> User | None:
        issuer = payload.get("iss", "")
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        expected_issuer = settings.OIDC_OP_ISSUER
        # mozilla-django-oidc verifies the signature and nonce, not iss/aud.
        if expected_issuer and issuer.rstrip("/") != expected_issuer.rstrip("/"):
            raise SuspiciousOperation("Unexpected id token issuer")
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("Unexpected id token audience")
        subject = payload.get("sub")
        if not subject:
            raise SuspiciousOperation("No sub claim")

        claims = {**payload, **self.get_userinfo(access_token, id_token, payload)}
        if claims.get("sub") != subject:
            raise SuspiciousOperation("userinfo sub does not match the id token")
        email = (claims.get("email") or "").strip().lower()
        verified = claims.get("email_verified") is True
        return self._user_for(issuer=issuer, subject=subject, email=email, verified=verified)

    @transaction.atomic
    def _user_for(self, *, issuer: str, subject: str, email: str, verified: bool) -> User | None:
        identity = SsoIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
        if identity:
            user = identity.user
        else:
            existing = User.objects.filter(email__iexact=email).first() if email else None
            if existing and not verified:
                logger.warning("SSO login refused: unverified email matches an existing account")
                return None
            if not email:
                logger.warning("SSO login refused: the provider sent no email")
                return None
            user = existing or User.objects.create_user(email=email, password=None)
            SsoIdentity.objects.create(user=user, issuer=issuer, subject=subject, email=email)
            audit_event_create(
                action="sso.linked" if existing else "sso.signed_up",
                workspace=None,
                actor=Actor.for_user(user),
                target=user,
                details={"issuer": issuer},
            )
            if not existing:
                EmailAddress.objects.create(user=user, email=email, primary=True, verified=verified)
                user_signup_complete(user=user, email_verified=verified)
        if not user.is_active:
            return None
        if verified:
            user._sso_email_verified = True  # type: ignore[attr-defined]  # read by the login signal
        return user
