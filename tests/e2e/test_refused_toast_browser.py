"""In a real browser: an htmx request the server refuses (a 4xx) says the server's reason in the toast, not
"Can't reach Trunkline"; a request that never reaches the server still says it cannot reach it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Route, expect

from delivery.flows.watches import watches_open
from delivery.monitoring.models import MonitoringSession
from tests.conftest import member
from tests.e2e.conftest import context_for, screenshot
from tests.factories import RepositoryFactory
from tests.rollbacks.helpers import release

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_refused_rollback_says_why_and_a_lost_connection_says_so(
    live_server: Any, browser: Browser, live_settings: Any
) -> None:
    olga = member("olga")
    repository = RepositoryFactory(name="api", full_name="acme/api")
    release(repository, "v1.2.0", at=timezone.now() - timedelta(minutes=10), owners=[olga.developer])
    watches_open(repository_id=repository.pk)
    session = MonitoringSession.objects.get(owner__login="olga")

    page = context_for(browser, live_server, olga, viewport={"width": 1366, "height": 900}).new_page()
    page.goto(f"{live_server.url}/monitoring/{session.pk}/")
    button = page.get_by_role("button", name="Roll back…")
    # Production moves on while the page is open: pete's v1.3.0 is live, and olga may not roll back his release.
    release(repository, "v1.3.0", at=timezone.now() - timedelta(minutes=1), owners=[member("pete").developer])
    button.click()
    toast = page.locator("#live-status")
    toast.wait_for(state="visible")
    assert toast.inner_text() == "Your role does not allow rolling back the release that is live."
    screenshot(page, "refused-toast.png")

    def abort(route: Route) -> None:
        route.abort()

    page.route("**/rollback/**", abort)
    button.click()
    # (Playwright's own matcher, not wait_for_function: a string predicate is an eval, which the page's CSP refuses.)
    expect(toast).to_have_text(re.compile(r"^Can't reach"))
    assert "is-refused" not in (toast.get_attribute("class") or "")
