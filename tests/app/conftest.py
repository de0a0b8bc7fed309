"""Fixtures of the app's tests: a real Chromium driven by Playwright."""

import pytest
from tests.helpers import browser_or_skip


@pytest.fixture
def browser():
    playwright, chromium = browser_or_skip()
    yield chromium
    chromium.close()
    playwright.stop()
