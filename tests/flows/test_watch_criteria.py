"""Acceptance criteria in the watch (issue 18): the checklist items and the description's criteria of the ClickUp tasks
an owner's changes name are "Verify in production" items of their watch, beside the repository's checklist: ticked
like the others before "keep", added when the task's criteria grow, shown by task on the watch page."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from delivery.flows.task_links import task_links_refreshed, task_links_written, task_read
from delivery.flows.watches import watch_signed_off, watches_open
from delivery.monitoring.models import ChecklistItem, MonitoringSession
from delivery.monitoring.services import WatchError
from delivery.notifications.models import Notification
from delivery.pipeline.models import Change
from tests.conftest import member
from tests.rollbacks.helpers import history
from tools.clickup_server import ClickUpServer, Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(clickup: ClickUpServer, settings: Any) -> dict[str, Any]:
    """history()'s v1.2 is live: olga's change names PRJ-2 (checklist "CSV opens") and PRJ-3 (criteria in its
    description), pete's PRJ-1 (no criteria); the tasks are read from the stand-in."""
    settings.TRUNKLINE_PUBLIC_URL = "https://trunkline.example"
    olga, pete = member("olga"), member("pete")
    made = {"olga": olga, "pete": pete, **history(olga.developer, pete.developer)}
    for change in Change.objects.filter(releases=made["v1.2"]):
        named = "PRJ-2 and PRJ-3" if change.author == olga.developer else "PRJ-1"
        change.pull_request.title = f"{named}: {change.title}"
        change.pull_request.save()
    task_links_written(repository_id=made["repo"].pk, pull_request_ids=None)
    task_links_refreshed()
    return made


def _items(session: MonitoringSession) -> list[tuple[str, str, int]]:
    return [(i.task, i.text, i.position) for i in session.items.order_by("position") if i.task]


def test_a_watch_gets_the_criteria_of_its_owner_s_tasks_after_the_repository_s_checklist(team: dict[str, Any]) -> None:
    watches_open(repository_id=team["repo"].pk)
    olga = MonitoringSession.objects.get(owner__login="olga")
    assert _items(olga) == [
        ("PRJ-2", "CSV opens", 100),
        ("PRJ-3", "100 requests a minute pass", 101),
        ("PRJ-3", "the 101st gets 429 with Retry-After", 102),
    ]
    keys = [i.key for i in olga.items.order_by("position")]
    assert keys[:5] == ["works", "errors", "watched", "resolved", "decision"]
    assert _items(MonitoringSession.objects.get(owner__login="pete")) == []  # PRJ-1 has none
    watches_open(repository_id=team["repo"].pk)
    assert len(_items(olga)) == 3  # once
    # Read tasks are reached by ClickUp's own id, and named in the log as people write them.
    released = Notification.objects.filter(kind="task_released").order_by("target")
    assert [(n.target, n.payload["task_id"]) for n in released] == [
        ("PRJ-1", "86b0x1y2z"),
        ("PRJ-2", "86b0x1y30"),
        ("PRJ-3", "86b0x1y31"),
    ]


def test_keep_waits_for_the_criteria_to_be_ticked_too(team: dict[str, Any]) -> None:
    watches_open(repository_id=team["repo"].pk)
    session = MonitoringSession.objects.get(owner__login="olga")
    ChecklistItem.objects.filter(session=session, task="").update(checked_at=timezone.now())
    later = session.window_ends_at + timedelta(minutes=1)
    with pytest.raises(WatchError, match="Tick every item first: CSV opens; 100 requests a minute pass"):
        watch_signed_off(session=session, user=team["olga"], decision="keep", notes="", now=later)
    ChecklistItem.objects.filter(session=session).update(checked_at=timezone.now())
    assert watch_signed_off(session=session, user=team["olga"], decision="keep", notes="", now=later).decision == "keep"
    comment = Notification.objects.get(kind="task_verified", target="PRJ-2").text
    assert "Acceptance criteria checked in production: CSV opens" in comment


def test_criteria_product_adds_later_reach_the_open_watch_and_not_a_signed_off_one(
    team: dict[str, Any], clickup: ClickUpServer
) -> None:
    watches_open(repository_id=team["repo"].pk)
    olga, pete = (MonitoringSession.objects.get(owner__login=login) for login in ("olga", "pete"))
    clickup.task("86b0x1y30").checklist.append("Totals match the invoice")
    clickup.task("86b0x1y2z").checklist.append("Works with the company account")
    MonitoringSession.objects.filter(pk=pete.pk).update(signed_off_at=timezone.now(), decision="keep")

    task_read(task_id="86b0x1y30")
    task_read(task_id="86b0x1y2z")

    assert _items(olga)[-1] == ("PRJ-2", "Totals match the invoice", 103)
    assert _items(pete) == []  # its checklist is closed


def test_the_watch_page_shows_the_criteria_by_task_beside_the_checklist(team: dict[str, Any]) -> None:
    watches_open(repository_id=team["repo"].pk)
    session = MonitoringSession.objects.get(owner__login="olga")
    browser = Client()
    browser.force_login(team["olga"])
    page = browser.get(reverse("watch", args=[session.pk])).content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "Verify in production" in text
    assert "PRJ-2 Export the invoices as CSV CSV opens" in text
    assert "PRJ-3 Rate limit the public API 100 requests a minute pass" in text
    assert 'href="https://app.clickup.com/t/9012345/PRJ-3"' in page
    checklist = page.split('id="checklist-title"')[1].split('id="criteria-title"')[0]
    assert "CSV opens" not in checklist and "Verify the change works in production" in checklist
    # Ticked like any item, by the owner.
    item = session.items.get(text="CSV opens")
    ticked = browser.post(reverse("watch-item", args=[item.pk]), {"checked": "on", "note": "opened in Excel"})
    assert ticked.status_code == 302 and session.items.get(pk=item.pk).checked_at is not None


def test_the_watch_page_reads_the_criteria_in_the_same_queries_for_one_task_or_many(
    team: dict[str, Any], clickup: ClickUpServer
) -> None:
    watches_open(repository_id=team["repo"].pk)
    session = MonitoringSession.objects.get(owner__login="olga")
    browser = Client()
    browser.force_login(team["olga"])
    url = reverse("watch", args=[session.pk])
    browser.get(url)
    with CaptureQueriesContext(connection) as few:
        browser.get(url)
    for n in range(6):  # more tasks, more criteria
        clickup.add_task(Task(f"86z{n}", f"Task {n}", custom_id=f"PRJ-{50 + n}", checklist=["a", "b", "c"]))
    change = Change.objects.filter(releases=team["v1.2"], author__login="olga").get()
    change.pull_request.title += " " + " ".join(f"PRJ-{50 + n}" for n in range(6))
    change.pull_request.save()
    task_links_written(repository_id=team["repo"].pk, pull_request_ids=None)
    task_links_refreshed()
    assert len(_items(session)) == 3 + 18
    with CaptureQueriesContext(connection) as many:
        page = browser.get(url).content.decode()
    assert "PRJ-55" in page
    assert len(many) == len(few)
