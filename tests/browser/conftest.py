"""Playwright on Debian's Chromium (``/usr/bin/chromium``); never ``playwright install``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# pytest-django's live_server runs in a thread while Playwright's sync API runs an
# event loop in this one: Django must allow ORM calls from it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "viewport": {"width": 1280, "height": 860},
        "permissions": ["clipboard-read", "clipboard-write"],
    }


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (``test-artifacts/`` at the repository root, gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
