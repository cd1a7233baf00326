"""The key format (SPEC §2): prefix, 32 base62, 6 base62 of CRC32."""

import hashlib
import re

from hypothesis import given
from hypothesis import strategies as st

from apikeys import keys

KEY_RE = re.compile(r"^(wsk|wpk)_live_[0-9A-Za-z]{38}$")


def test_generated_keys_have_the_documented_shape_and_checksum():
    for kind, prefix in [("secret", "wsk_live_"), ("publishable", "wpk_live_")]:
        key = keys.generate(kind)
        assert key.startswith(prefix)
        assert KEY_RE.match(key)
        assert keys.kind_of(key) == kind


def test_keys_are_unique():
    assert len({keys.generate("secret") for _ in range(1000)}) == 1000


def test_digest_is_sha256_and_hint_masks_the_middle():
    key = keys.generate("secret")
    assert keys.digest(key) == hashlib.sha256(key.encode()).hexdigest()
    hint = keys.hint(key)
    assert hint == f"wsk_live_{key[9:13]}…{key[-4:]}"
    assert key[13:-4] not in hint


@given(st.integers(min_value=9, max_value=46), st.sampled_from(keys.ALPHABET))
def test_any_single_character_change_is_rejected(position, replacement):
    key = keys.generate("secret")
    if key[position] == replacement:
        return
    mutated = key[:position] + replacement + key[position + 1 :]
    assert keys.kind_of(mutated) is None


def test_wrong_length_prefix_or_alphabet_is_rejected():
    key = keys.generate("secret")
    assert keys.kind_of(key[:-1]) is None
    assert keys.kind_of(key + "a") is None
    assert keys.kind_of("wsk_test_" + key[9:]) is None
    assert keys.kind_of(key[:20] + "-" + key[21:]) is None
