"""A real browser (Debian's chromium through Playwright) against Django's live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from tests.conftest import ROOT, member

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "var" / "test"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed (.ci/run installs it with apt)")
    # Playwright's sync API runs an event loop in this thread; the test's own database calls stay synchronous
    # (Django's documented switch for exactly this case).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--headless", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def live_settings(settings: Any) -> Any:
    """The live server serves static files from the apps by their plain names (not the deploy's hashed
    copies), and over plain http, so its cookies cannot be marked secure."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    return settings


def signed_in_context(
    browser: Browser, live_server: Any, login: str, role: str = "developer", **page: Any
) -> BrowserContext:
    """A browser context already signed in as a new member (sign-in itself has its own browser test)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(member(login, role=role))
    context = browser.new_context(**page)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    return context


def screenshot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    page.screenshot(path=str(path))
    return path
