"""The rollback panel's answers swap in without breaking the Content-Security-Policy: htmx's settle copies some
attributes of the old elements to the new ones of the same id, and a textarea the person resized carries a style
attribute the policy forbids setting (style-src-attr). The "production moved" answer (409) after the person resized
the reason box must come in with no violation, and preselect the new last known good."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser

from tests.conftest import member
from tests.e2e.conftest import checked, context_for, page_problems
from tests.factories import RepositoryFactory
from tests.rollbacks.helpers import release

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_production_moved_answer_swaps_in_after_a_resized_reason_box_without_a_csp_violation(
    live_server: Any, browser: Browser, live_settings: Any
) -> None:
    owner = member("olga").developer
    now = timezone.now()
    repository = RepositoryFactory(name="api", full_name="acme/api")
    release(repository, "v2.3.8", at=now - timedelta(days=3), owners=[owner])
    release(repository, "v2.3.9", at=now - timedelta(days=2), owners=[owner])
    # v2.4.0's watch is done (its owner kept it): once production moves past it, it is the last known good.
    release(repository, "v2.4.0", at=now - timedelta(minutes=8), owners=[owner], changes=2, watch_state="done")
    on_call = member("ona", role="on-call")

    context = checked(context_for(browser, live_server, on_call, viewport={"width": 1366, "height": 900}))
    page = context.new_page()
    page.goto(live_server.url + "/on-call/")
    page.get_by_role("button", name="Roll back…").click()
    reason = page.get_by_label("Reason (required)")
    reason.wait_for()
    assert page.get_by_label("Release to deploy").input_value() == str(repository.releases.get(tag_name="v2.3.9").pk)
    box = reason.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] - 3)  # the resize handle
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] + 60, steps=5)
    page.mouse.up()
    assert page.evaluate("document.getElementById('rollback-reason').getAttribute('style')"), "resized"
    reason.fill("Errors since the deploy")

    moved = release(repository, "v2.4.1", at=timezone.now(), owners=[owner])  # the team ships meanwhile
    page.get_by_role("button", name="Roll back to v2.3.9").click()
    page.get_by_text("Production moved while you were deciding").wait_for()
    page.wait_for_timeout(300)  # htmx settles 20 ms after the swap
    assert page.evaluate("window.__cspViolations") == []
    # The new answer preselects the new last known good (v2.4.0 now) and says the choice moved.
    assert page.get_by_label("Release to deploy").input_value() == str(repository.releases.get(tag_name="v2.4.0").pk)
    assert moved.tag_name in page.locator("#rollback-form").inner_text()
    problems = page_problems(page, focus=False)
    assert not problems, problems
    context.close()


def test_the_watch_pages_note_and_early_tick_swap_in_without_a_csp_violation(
    live_server: Any, browser: Browser, live_settings: Any
) -> None:
    """The watch page: a note saved, then the full-window item ticked early (refused in words), each answer swapped
    over a checklist item whose fields carry a style attribute (a resized field, a browser extension)."""
    from delivery.flows.watches import watches_open
    from delivery.monitoring.models import MonitoringSession

    olga = member("olga")
    repository = RepositoryFactory(name="api", full_name="acme/api")
    release(repository, "v2.3.9", at=timezone.now() - timedelta(days=2), owners=[olga.developer])
    release(repository, "v2.4.0", at=timezone.now() - timedelta(minutes=3), owners=[olga.developer])
    watches_open(repository_id=repository.pk)
    session = MonitoringSession.objects.get(release__tag_name="v2.4.0")

    context = checked(context_for(browser, live_server, olga, viewport={"width": 390, "height": 844}))
    page = context.new_page()
    page.goto(f"{live_server.url}/monitoring/{session.pk}/")
    item = page.locator(".check-item", has_text="for the whole window")
    note = item.locator(".note-input")
    note.evaluate("n => { n.style.width = '90%'; n.closest('li').style.outline = '0'; }")  # CSSOM: allowed
    note.fill("Error rate flat since the deploy")
    item.get_by_role("button", name="Save").click()
    page.locator(".check-item .saved").wait_for()
    item.locator(".note-input").evaluate("n => { n.style.width = '90%'; }")
    item.get_by_role("checkbox").check()
    item.get_by_role("alert").wait_for()
    page.wait_for_timeout(300)  # htmx settles 20 ms after the swap
    assert page.evaluate("window.__cspViolations") == []
    page.get_by_role("radio", name="Fix forward").check()
    page.get_by_role("button", name="Sign off").click()
    page.get_by_text("Fix forward", exact=False).first.wait_for()
    assert page.evaluate("window.__cspViolations") == []
    context.close()
