"""End to end, in a real browser: the board is open, a webhook arrives, the card moves without a reload."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser

from delivery.flows.changes import repository_changed
from delivery.github.models import Repository, WebhookDelivery
from delivery.github.webhooks import delivery_process
from tests.e2e.conftest import screenshot, signed_in_context
from tests.github.webhook_helpers import example, sign

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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
    repository_changed(repository_id=Repository.objects.get(github_id=payload["repository"]["id"]).pk)


def test_a_webhook_moves_a_card_on_the_open_board(live_server: Any, browser: Browser, live_settings: Any) -> None:
    live_settings.GITHUB_ORG = ""
    opened = example("pull_request", "opened.payload.json")
    _deliver(live_server, "pull_request", opened)

    context = signed_in_context(browser, live_server, "lee", viewport={"width": 1280, "height": 360})
    page = context.new_page()  # a short window, so the page scrolls
    page.goto(live_server.url + "/board/")
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
    page.route(f"{live_server.url}/board/", lambda route: route.abort())
    page.locator("#live-status").wait_for(state="visible", timeout=15_000)
    assert page.locator(".column-merged").get_by_text(title).is_visible()
    page.unroute(f"{live_server.url}/board/")
    page.locator("#live-status").wait_for(state="hidden", timeout=15_000)
    screenshot(page, "board-after-webhook.png")
    context.close()
