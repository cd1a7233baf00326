"""Session authentication for the in-app API (CSRF enforced on writes by DRF)."""

from rest_framework.authentication import SessionAuthentication as DRFSessionAuthentication


class SessionAuthentication(DRFSessionAuthentication):
    """DRF's session authentication; unauthenticated requests answer 401 (SPEC §3)."""
