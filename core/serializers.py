"""Serializer bases shared by every API: write bodies that refuse what they do not know.

DRF ignores keys a serializer does not declare, so a client that misspells a field
(``"rol": "admin"``) or tries one it may not set (``"workspace": 7``) gets a 200
and nothing happens. ``StrictSerializer`` refuses such keys instead: 400
``invalid_request`` with ``fields`` naming each one, together with the declared
fields' own errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

UNKNOWN_FIELD = "Unknown field: it cannot be set here."


class StrictSerializer(serializers.Serializer):
    """A write serializer: keys other than its writable fields are validation errors."""

    unknown_field_message = UNKNOWN_FIELD

    def to_internal_value(self, data: Any) -> Any:
        unknown: dict[str, list[str]] = {}
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = {str(key): [self.unknown_field_message] for key in data if key not in writable}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from exc
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value
