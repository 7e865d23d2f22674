"""ClickUp tasks on the board's cards and the change page, in a real browser at a laptop's and a phone's width:
readable, no wider than the window, no CSP or axe violation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser

from delivery.flows.task_links import task_links_refreshed, task_links_written
from delivery.pipeline.models import Change, Stage, TaskLink
from tests.clickup.conftest import clickup, clickup_server  # noqa: F401 - fixtures
from tests.e2e.conftest import checked, page_problems, screenshot, signed_in_context
from tests.factories import DeveloperFactory, PullRequestFactory, RepositoryFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clickup")]


def _linked_changes() -> Change:
    repository = RepositoryFactory(name="billing", full_name="acme/billing")
    ana = DeveloperFactory(login="ana")
    shown = None
    for title, branch, stage in [
        ("Export the invoices as CSV (PRJ-2)", "ana/prj-2-csv-export", Stage.IN_REVIEW),
        ("Sign in with the company account", "ana/CU-86b0x1y2z-sso", Stage.IN_PROGRESS),
        ("Faster order search, and the rate limit", "PRJ-4/PRJ-3-search", Stage.ON_STAGING),
        ("Drop the old exporter CU-zz99zz99", "ana/cleanup", Stage.MERGED),
    ]:
        pr = PullRequestFactory(repository=repository, author=ana, title=title, head_ref=branch)
        change = Change.objects.create(repository=repository, pull_request=pr, title=title, author=ana, stage=stage)
        shown = shown or change
    task_links_written(repository_id=repository.pk, pull_request_ids=None)
    task_links_refreshed()
    TaskLink.objects.filter(clickup_task_id="PRJ-3").update(
        fetch_state=TaskLink.Fetch.UNREACHABLE, fetched_at=timezone.now() - timedelta(minutes=20)
    )
    assert shown is not None
    return shown


@pytest.mark.parametrize("width", [1366, 390])
def test_tasks_read_on_the_board_and_the_change_page(
    live_server: Any, browser: Browser, live_settings: Any, width: int
) -> None:
    change = _linked_changes()
    context = checked(signed_in_context(browser, live_server, "lee", viewport={"width": width, "height": 900}))
    page = context.new_page()

    page.goto(f"{live_server.url}/board/")
    card = page.locator(".change-card", has_text="Export the invoices as CSV (PRJ-2)")
    text = " ".join(card.locator(".task-links").inner_text().split())
    assert text == "PRJ-2 Export the invoices as CSV review assigned to Grace Hopper"
    assert page.get_by_text("not found in ClickUp").is_visible()
    assert page_problems(page, focus=False) == []
    screenshot(page, f"clickup-board-{width}.png")

    page.goto(f"{live_server.url}/changes/{change.pk}/")
    tasks = page.locator("section", has=page.locator("#tasks-title"))
    assert tasks.get_by_role("link", name="PRJ-2").get_attribute("href") == "https://app.clickup.com/t/9012345/PRJ-2"
    assert tasks.get_by_text("Grace Hopper").is_visible()
    assert page_problems(page, focus=False) == []
    tasks.scroll_into_view_if_needed()
    screenshot(page, f"clickup-change-{width}.png")
    context.close()
