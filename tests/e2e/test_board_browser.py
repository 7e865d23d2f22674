"""End to end, in a real browser: the board is open, a webhook arrives, the card moves without a reload."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, sync_playwright

from delivery.github.models import Repository, WebhookDelivery
from delivery.github.webhooks import delivery_process
from delivery.pipeline.services import repository_derive
from tests.conftest import ROOT
from tests.github.webhook_helpers import example, sign

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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


def _deliver(live_server: Any, event: str, payload: dict[str, Any]) -> None:
    """GitHub's side (a signed POST to the running server), then the worker's (process, derive)."""
    body = json.dumps(payload).encode()
    response = requests.post(
        f"{live_server.url}/webhooks/github/",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": f"e2e-{payload['action']}",
            "X-Hub-Signature-256": sign(body),
        },
        timeout=10,
    )
    assert response.status_code == 202, response.text
    delivery = WebhookDelivery.objects.get(guid=f"e2e-{payload['action']}")
    assert delivery_process(delivery_id=delivery.pk, client_factory=lambda: None) == "processed"
    repository_derive(repository_id=Repository.objects.get(github_id=payload["repository"]["id"]).pk)


def test_a_webhook_moves_a_card_on_the_open_board(live_server: Any, browser: Browser, settings: Any) -> None:
    settings.GITHUB_ORG = ""
    # The test server serves static files from the apps, by their plain names (not the deploy's hashed copies).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    opened = example("pull_request", "opened.payload.json")
    _deliver(live_server, "pull_request", opened)

    page = browser.new_page(viewport={"width": 1280, "height": 360})  # short, so the page scrolls
    page.goto(live_server.url + "/")
    title = opened["pull_request"]["title"]
    review_column = page.locator(".column-in_review")
    assert review_column.get_by_text(title).is_visible()
    page.evaluate("window.scrollTo(0, 40)")  # the user's place on the page, which the refresh must keep
    assert page.evaluate("window.scrollY") == 40

    merged = example("pull_request", "closed.payload.json")
    merged["action"] = "closed"
    merged["pull_request"].update(
        id=opened["pull_request"]["id"],
        number=opened["pull_request"]["number"],
        title=title,
        merged=True,
        merged_at=merged["pull_request"]["closed_at"],
        merge_commit_sha="e" * 40,
    )
    merged["repository"] = opened["repository"]
    _deliver(live_server, "pull_request", merged)

    # No reload: the board's htmx refresh (every 5 s) brings the card to its new column.
    page.locator(".column-merged").get_by_text(title).wait_for(timeout=15_000)
    assert review_column.get_by_text(title).count() == 0
    assert page.evaluate("window.scrollY") == 40
    # The server becomes unreachable: the board keeps its last content and says so, until a refresh succeeds.
    page.route(f"{live_server.url}/", lambda route: route.abort())
    page.locator("#live-status").wait_for(state="visible", timeout=15_000)
    assert page.locator(".column-merged").get_by_text(title).is_visible()
    page.unroute(f"{live_server.url}/")
    page.locator("#live-status").wait_for(state="hidden", timeout=15_000)
    shots = ROOT / "var" / "test"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "board-after-webhook.png"))
    page.close()
