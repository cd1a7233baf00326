"""Serializers that refuse what they do not know, as Stripe refuses unknown parameters (SPEC §4)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

UNKNOWN_FIELD = "Unknown field: it cannot be set here."


class StrictSerializer(serializers.Serializer):
    """An input serializer whose unknown keys are a 400 naming them, not silently dropped."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [UNKNOWN_FIELD] for name in unknown})
        return super().to_internal_value(data)
