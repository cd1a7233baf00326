"""atheris: the key format (apikeys/keys.py). Any text is a kind or None; a kind is the format's."""

from __future__ import annotations

from harness import lines, run, setup

setup("apikeys.keys")

from apikeys import keys  # noqa: E402  (after Django's setup)


def test_one_input(data: bytes) -> None:
    (text,) = lines(data, 1)
    assert text is not None
    kind = keys.kind_of(text)
    if kind is None:
        return
    assert kind in keys.PREFIXES, kind
    assert text.startswith(keys.PREFIXES[kind]), text
    assert len(text) == keys.KEY_LENGTH, text
    assert keys.hint(text).endswith(text[-4:]), text


if __name__ == "__main__":
    run(test_one_input)
