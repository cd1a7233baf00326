"""Signals other apps hook into (webhooks remove a revoked key's subscriptions)."""

from django.dispatch import Signal

# Sent inside the revoking transaction with ``api_key=``.
api_key_revoked = Signal()
