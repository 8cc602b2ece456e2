"""The dashboard tests use the shared fixtures of tests/conftest.py (sample and hand-made databases).

``browser``: Debian's Chromium through Playwright (a missing Chromium fails the test).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dashboard_driver import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():  # a failure, never a skip: these tests need the real browser
        pytest.fail(f"{CHROMIUM} is missing (install Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()
