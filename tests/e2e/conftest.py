"""A real browser (Debian's chromium through Playwright) against Django's live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.conftest import ROOT, member

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "var" / "test"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"  # axe-core 4.14.1 from npm (MPL-2.0)
PAGE_CHECKS = Path(__file__).resolve().parent / "page_checks.js"


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
    return context_for(browser, live_server, member(login, role=role), **page)


def context_for(browser: Browser, live_server: Any, user: Any, **page: Any) -> BrowserContext:
    """A browser context signed in as `user`."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
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


def checked(context: BrowserContext) -> BrowserContext:
    """The context's pages carry axe-core and tests/e2e/page_checks.js from before their own first script (init
    scripts, which the Content-Security-Policy does not apply to): CSP violations are recorded from the start."""
    context.add_init_script(path=str(AXE))
    context.add_init_script(path=str(PAGE_CHECKS))
    return context


def page_problems(page: Page, *, focus: bool = True) -> list[str]:
    """What is wrong on the page as it is now: CSP violations, a page wider than the window, axe-core's WCAG 2.0/2.1
    A and AA violations, and (with `focus`) focus rings under 3:1 on their background."""
    problems = [f"CSP: {v}" for v in page.evaluate("window.__cspViolations")]
    width = page.evaluate("window.__pageChecks.width()")
    if width["scrollWidth"] > width["clientWidth"]:
        problems.append(f"{width['scrollWidth']} px wide in {width['clientWidth']} px: {width['wide']}")
    problems += [f"axe: {v}" for v in page.evaluate("window.__pageChecks.axe()")]
    if focus:
        page.keyboard.press("Tab")  # keyboard focus, so what the check focuses next shows its :focus-visible ring
        problems += [f"focus: {v}" for v in page.evaluate("window.__pageChecks.focusRings()")]
    return problems


def screenshot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    page.screenshot(path=str(path))
    return path
