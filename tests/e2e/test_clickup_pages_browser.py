"""Issue 18's pages in a real browser at a laptop's and a phone's width: the watch with its tasks' acceptance criteria,
My queue with the tasks waiting in ClickUp, and a change flagged for naming no task. Readable, no wider than the
window, no CSP or axe violation."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import Browser

from delivery.flows.task_links import task_links_refreshed, task_links_written
from delivery.flows.task_queues import clickup_queues_read
from delivery.flows.watches import watches_open
from delivery.monitoring.models import MonitoringSession
from delivery.pipeline.models import Change, Stage
from tests.clickup.conftest import clickup, clickup_server  # noqa: F401 - fixtures
from tests.conftest import member
from tests.e2e.conftest import checked, context_for, page_problems, screenshot
from tests.factories import PullRequestFactory, RepositoryFactory
from tests.rollbacks.helpers import history
from tools.clickup_server import ClickUpServer, Task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1366, 390])
def test_the_watch_shows_its_tasks_criteria_to_verify(
    live_server: Any, browser: Browser, live_settings: Any, request: Any, width: int
) -> None:
    request.getfixturevalue("clickup")
    olga, pete = member("olga"), member("pete")
    made = history(olga.developer, pete.developer)
    for change in Change.objects.filter(releases=made["v1.2"], author=olga.developer):
        change.pull_request.title = f"PRJ-2 and PRJ-3: {change.title}"
        change.pull_request.save()
    task_links_written(repository_id=made["repo"].pk, pull_request_ids=None)
    task_links_refreshed()
    watches_open(repository_id=made["repo"].pk)
    session = MonitoringSession.objects.get(owner=olga.developer)
    context = checked(context_for(browser, live_server, olga, viewport={"width": width, "height": 900}))
    page = context.new_page()
    page.goto(f"{live_server.url}/monitoring/{session.pk}/")
    criteria = page.locator("section", has=page.locator("#criteria-title"))
    assert criteria.get_by_role("link", name="PRJ-3").get_attribute("href") == "https://app.clickup.com/t/9012345/PRJ-3"
    assert criteria.get_by_text("the 101st gets 429 with Retry-After", exact=True).is_visible()
    page.get_by_label("CSV opens", exact=True).check()  # ticked like any item (htmx)
    page.wait_for_selector("li.check-item.is-checked")
    assert page_problems(page, focus=False) == []
    criteria.scroll_into_view_if_needed()
    screenshot(page, f"clickup-watch-{width}.png")
    context.close()


@pytest.mark.parametrize("width", [1366, 390])
def test_my_queue_lists_the_tasks_waiting_in_clickup(
    live_server: Any, browser: Browser, live_settings: Any, request: Any, settings: Any, width: int
) -> None:
    stand_in: ClickUpServer = request.getfixturevalue("clickup")
    settings.CLICKUP_QUEUE_LISTS = ["77"]
    ada = member("ada")
    EmailAddress.objects.create(user=ada, email="ada.lovelace@example.com", verified=True, primary=True)
    for n, name in enumerate(["Audit log export for admins", "A rather long task name that has to wrap on a phone"]):
        stand_in.add_task(Task(f"86q{n}", name, custom_id=f"PRJ-{70 + n}", assignees=["Ada Lovelace"], list_id="77"))
    clickup_queues_read()
    context = checked(context_for(browser, live_server, ada, viewport={"width": width, "height": 900}))
    page = context.new_page()
    page.goto(f"{live_server.url}/me/")
    tasks = page.locator("section", has=page.locator("#clickup-title"))
    assert tasks.get_by_role("link", name="PRJ-70").is_visible()
    assert tasks.get_by_text("matched by e-mail").is_visible()
    assert page_problems(page, focus=False) == []
    tasks.scroll_into_view_if_needed()
    screenshot(page, f"clickup-queue-{width}.png")
    context.close()


@pytest.mark.parametrize("width", [1366, 390])
def test_a_change_naming_no_task_is_flagged_where_one_is_required(
    live_server: Any, browser: Browser, live_settings: Any, width: int
) -> None:
    repository = RepositoryFactory(name="billing", full_name="acme/billing", clickup_task_required=True)
    pr = PullRequestFactory(repository=repository, title="Tidy the logs", head_ref="ana/tidy")
    change = Change.objects.create(
        repository=repository, pull_request=pr, title=pr.title, stage=Stage.IN_REVIEW, failed_checks=["no_task"]
    )
    context = checked(context_for(browser, live_server, member("lee"), viewport={"width": width, "height": 900}))
    page = context.new_page()
    page.goto(f"{live_server.url}/board/")
    assert page.locator(".change-card", has_text="Tidy the logs").get_by_text("No ClickUp task named").is_visible()
    page.goto(f"{live_server.url}/changes/{change.pk}/")
    assert page.get_by_text("billing requires one").is_visible()
    assert page_problems(page, focus=False) == []
    screenshot(page, f"clickup-no-task-{width}.png")
    context.close()
