"""StrictSerializer: a write body's unknown keys are errors, named with the declared fields' own."""

import pytest
from rest_framework import serializers

from core.serializers import UNKNOWN_FIELD, StrictSerializer


class Body(StrictSerializer):
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=["a", "b"], required=False)
    id = serializers.IntegerField(read_only=True)


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"name": "x", "nmae": "y"}, {"nmae": [UNKNOWN_FIELD]}),
        ({"name": "x", "id": 3}, {"id": [UNKNOWN_FIELD]}),  # read-only fields cannot be set either
        (
            {"kind": "c", "extra": 1},
            {"name": ["This field is required."], "kind": ['"c" is not a valid choice.'], "extra": [UNKNOWN_FIELD]},
        ),
        (["name"], {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
    ],
)
def test_unknown_keys_are_refused_with_the_other_errors(data, errors):
    body = Body(data=data)
    assert not body.is_valid()
    assert body.errors == errors


def test_known_keys_pass():
    body = Body(data={"name": "x", "kind": "a"})
    assert body.is_valid(), body.errors
    assert body.validated_data == {"name": "x", "kind": "a"}
