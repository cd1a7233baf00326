"""What every atheris harness of fuzz/ shares: Django set up on the test settings, our code instrumented.

Django imports the parsers while it sets up (the apps' ``ready``), so instead of
``atheris.instrument_imports`` the functions of the named modules are instrumented in
place after setup (``atheris.instrument_func`` patches each code object): coverage
guides the fuzzer through our code, not through Django's.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import atheris

ROOT = Path(__file__).resolve().parents[1]


def setup(*module_names: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    for name in module_names:
        module = sys.modules[name]
        for _, member in inspect.getmembers(module):
            for function in _functions_of(member, name):
                atheris.instrument_func(function)


def _functions_of(member: Any, module_name: str) -> list[Callable[..., Any]]:
    if inspect.isfunction(member) and member.__module__ == module_name:
        return [member]
    if inspect.isclass(member) and member.__module__ == module_name:
        return [item for item in vars(member).values() if inspect.isfunction(item)]
    return []


def lines(data: bytes, count: int) -> list[str | None]:
    """``data`` as ``count`` header values, one a line (``None`` past the last line).

    Header values as a WSGI server hands them over: ISO-8859-1 text (PEP 3333), never a
    CR or LF (HTTP forbids them in a field, and servers refuse them). The seed corpus is
    plain text in this format, one header a line.
    """
    values: list[str | None] = list(data.decode("latin-1").split("\n", count - 1))
    return (values + [None] * count)[:count]


def run(test_one_input: Callable[[bytes], None]) -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
