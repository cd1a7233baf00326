"""SECURITY.md keeps its word: each promise names a test, and each test it names exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "SECURITY.md").read_text()
REFERENCE = re.compile(r"`((?:tests/[\w/]+\.py)?)((?:::\w+)+)`")


def _promises() -> list[str]:
    section = DOC.split("## What Parley promises", 1)[1].split("### Static analysis", 1)[0]
    return ["- " + item for item in re.split(r"\n- ", section)[1:]]


def _defined(path: Path) -> set[str]:
    """``name`` and ``Class::name`` of every test function in ``path``."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names |= {f"{node.name}::{item.name}" for item in node.body if isinstance(item, ast.FunctionDef)}
    return names


def test_every_promise_names_the_test_that_keeps_it():
    promises = _promises()
    assert len(promises) >= 30
    unkept = [item.splitlines()[0] for item in promises if "::" not in item]
    assert not unkept, unkept


def test_every_test_it_names_exists():
    current: Path | None = None
    missing = []
    count = 0
    for file, names in REFERENCE.findall(DOC):
        if file:
            current = ROOT / file
            assert current.exists(), file
        assert current is not None, names
        name = names.removeprefix("::")
        if name not in _defined(current):
            missing.append(f"{current.relative_to(ROOT)}::{name}")
        count += 1
    assert count >= 80
    assert not missing, missing
