"""ClickUp's deliveries processed: what each does to the links of its task, at most once, and the stand-in's own
signed deliveries reaching Trunkline and a real worker."""

from __future__ import annotations

import io
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from delivery.celery import app as celery_app
from delivery.clickup.models import ClickUpDelivery, TaskStatusChange
from delivery.clickup.webhooks import delivery_receive
from delivery.flows.task_links import task_links_written, task_read
from delivery.flows.task_webhooks import clickup_deliveries_swept, clickup_delivery_processed
from delivery.pipeline.models import Change, TaskLink
from tests.clickup.webhook_helpers import body_of, status_item
from tests.conftest import wait_for, worker_start, worker_stop
from tests.factories import PullRequestFactory, RepositoryFactory
from tools.clickup_server import ClickUpServer

pytestmark = pytest.mark.django_db
Outcome = ClickUpDelivery.Outcome
T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _linked(title: str, settings: Any) -> Change:
    settings.CLICKUP_CUSTOM_ID_PREFIXES = ["PRJ"]
    repository = RepositoryFactory()
    pr = PullRequestFactory(repository=repository, title=title, head_ref="topic")
    change = Change.objects.create(repository=repository, pull_request=pr, title=title)
    task_links_written(repository_id=repository.pk, pull_request_ids=None)
    return change


def _deliver(body: bytes) -> tuple[str, ClickUpDelivery]:
    receipt = delivery_receive(body=body)
    outcome = clickup_delivery_processed(delivery_id=receipt.delivery_id, now=T0 + timedelta(hours=1))
    return outcome, ClickUpDelivery.objects.get(pk=receipt.delivery_id)


def test_a_status_move_shows_on_every_link_to_the_task_and_is_kept(settings: Any) -> None:
    by_id = _linked("CU-86b0x1y30 export", settings)
    by_custom = _linked("PRJ-2 export, the rest", settings)
    TaskLink.objects.filter(change=by_custom).update(clickup_id="86b0x1y30")  # read before: its own id is known
    other = _linked("CU-86b0x1y2z sign-in", settings)

    outcome, delivery = _deliver(
        body_of("taskStatusUpdated", "86b0x1y30", status_item("in progress", at_ms=_ms(T0), item_id="h1"))
    )

    assert outcome == Outcome.PROCESSED and delivery.outcome == Outcome.PROCESSED
    assert delivery.result == "taskStatusUpdated of task 86b0x1y30: status in progress"
    for change in (by_id, by_custom):
        link = change.task_links.get()
        assert (link.status, link.status_at) == ("in progress", T0)
    assert other.task_links.get().status == ""
    assert list(TaskStatusChange.objects.values_list("task_id", "status", "changed_at")) == [
        ("86b0x1y30", "in progress", T0)
    ]


def test_a_move_older_than_what_is_shown_is_kept_but_not_shown(settings: Any) -> None:
    change = _linked("CU-86b0x1y30", settings)
    _deliver(body_of("taskStatusUpdated", "86b0x1y30", status_item("review", at_ms=_ms(T0), item_id="h2")))
    late = status_item("in progress", at_ms=_ms(T0 - timedelta(minutes=5)), item_id="h1")
    _, delivery = _deliver(body_of("taskStatusUpdated", "86b0x1y30", late))

    assert change.task_links.get().status == "review"
    assert "older than what is shown" in delivery.result
    assert list(TaskStatusChange.objects.order_by("changed_at").values_list("status", flat=True)) == [
        "in progress",
        "review",
    ]


def test_a_deleted_task_is_not_found(settings: Any) -> None:
    change = _linked("CU-86b0x1y30", settings)
    TaskLink.objects.update(fetch_state=TaskLink.Fetch.FOUND, name="Export")
    _, delivery = _deliver(body_of("taskDeleted", "86b0x1y30"))
    link = change.task_links.get()
    assert (link.fetch_state, link.name) == ("not_found", "Export")
    assert "deleted in ClickUp" in delivery.result


def test_a_new_name_and_assignees_show_at_once(settings: Any) -> None:
    change = _linked("CU-86b0x1y30", settings)
    TaskLink.objects.update(name="Export", assignee_names="Grace Hopper")
    ada = {"id": 1001, "username": "Ada Lovelace", "email": "ada@example.com"}
    grace = {"id": 1002, "username": "Grace Hopper", "email": "grace@example.com"}
    rename = {"id": "h3", "date": str(_ms(T0)), "field": "name", "before": "Export", "after": "Export as CSV"}
    _deliver(body_of("taskUpdated", "86b0x1y30", rename))
    add = {"id": "h4", "date": str(_ms(T0)), "field": "assignee_add", "before": None, "after": ada}
    _deliver(body_of("taskAssigneeUpdated", "86b0x1y30", add))
    remove = {"id": "h5", "date": str(_ms(T0)), "field": "assignee_rem", "before": grace, "after": None}
    _, delivery = _deliver(body_of("taskAssigneeUpdated", "86b0x1y30", remove))

    link = change.task_links.get()
    assert (link.name, link.assignee_names) == ("Export as CSV", "Ada Lovelace")
    assert delivery.result == "taskAssigneeUpdated of task 86b0x1y30: no longer assigned to Grace Hopper"


def test_a_task_no_change_names_keeps_its_history_for_the_change_that_will(settings: Any) -> None:
    outcome, delivery = _deliver(
        body_of("taskStatusUpdated", "86b0x1y31", status_item("in progress", at_ms=_ms(T0), item_id="h6"))
    )
    assert outcome == Outcome.PROCESSED and "no change names task 86b0x1y31" in delivery.result
    assert TaskStatusChange.objects.get().status == "in progress"


def test_a_delivery_is_processed_once_and_a_malformed_one_fails_with_the_reason(settings: Any) -> None:
    _linked("CU-86b0x1y30", settings)
    receipt = delivery_receive(body=body_of("taskStatusUpdated", "86b0x1y30", status_item("review", item_id="h7")))
    assert clickup_delivery_processed(delivery_id=receipt.delivery_id) == Outcome.PROCESSED
    assert clickup_delivery_processed(delivery_id=receipt.delivery_id) == "skipped"
    assert ClickUpDelivery.objects.get(pk=receipt.delivery_id).attempts == 1

    nul = delivery_receive(body=b'{"event": "taskUpdated", "task_id": "86b0x1y30", "history_items": ["\\u0000"]}')
    assert clickup_delivery_processed(delivery_id=nul.delivery_id) == Outcome.FAILED
    failed = ClickUpDelivery.objects.get(pk=nul.delivery_id)
    assert "NUL character" in failed.error and TaskLink.objects.get().status == "review"


def test_the_sweep_queues_what_the_broker_did_not_take(settings: Any, monkeypatch: Any) -> None:
    receipt = delivery_receive(body=body_of("taskDeleted", "86b0x1y30"))
    ClickUpDelivery.objects.filter(pk=receipt.delivery_id).update(queued_at=None)
    sent: list[tuple[str, tuple[object, ...]]] = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, args, **_: sent.append((name, tuple(args))))
    assert clickup_deliveries_swept() == 1
    assert sent == [("flows.clickup_delivery", (receipt.delivery_id,))]


def test_reading_the_task_again_brings_its_criteria_and_its_own_id(clickup: ClickUpServer, settings: Any) -> None:
    change = _linked("PRJ-3 rate limit", settings)
    task_read(task_id="86b0x1y31")  # named by its custom id, not read yet: found by its custom id
    link = change.task_links.get()
    assert (link.clickup_id, link.fetch_state) == ("86b0x1y31", "found")
    assert link.criteria == ["100 requests a minute pass", "the 101st gets 429 with Retry-After"]


# -- the stand-in's deliveries, end to end ------------------------------------------------------------------------
@pytest.fixture
def clickup_worker(clickup: ClickUpServer, transactional_db: None, github: Any) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker on this test's queue, reading ClickUp at the stand-in."""
    queue = f"test-{uuid.uuid4().hex[:12]}"
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    env = {
        "CLICKUP_TOKEN": clickup.token,
        "CLICKUP_TEAM_ID": clickup.team_id,
        "CLICKUP_API_URL": clickup.url,
        "CLICKUP_CUSTOM_ID_PREFIXES": "PRJ",
    }
    worker = worker_start(queue, github, env=env, log_name=f"worker-clickup-{queue}.log")
    try:
        yield worker
    finally:
        worker_stop(worker)
        celery_app.conf.task_default_queue = previous


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_stand_in_s_signed_deliveries_reach_trunkline_and_the_worker(
    clickup: ClickUpServer, clickup_worker: Any, live_server: Any, settings: Any
) -> None:
    change = _linked("PRJ-3 rate limit", settings)
    settings.TRUNKLINE_PUBLIC_URL = live_server.url
    out = io.StringIO()
    call_command("clickup_webhooks", "install", stdout=out)
    settings.CLICKUP_WEBHOOK_SECRET = out.getvalue().split("CLICKUP_WEBHOOK_SECRET=")[1].strip()

    clickup.move_task("86b0x1y31", "in progress")
    assert [(d.event, d.status) for d in clickup.delivered()] == [("taskStatusUpdated", 202)]

    def shown() -> bool:
        link = TaskLink.objects.get(change=change)
        return link.status == "in progress" and link.criteria != []

    wait_for(shown, timeout=60, what="the worker to apply the delivery and read the task")
    assert ClickUpDelivery.objects.get().outcome == Outcome.PROCESSED
    assert TaskStatusChange.objects.get().status == "in progress"
    started = TaskStatusChange.objects.get().changed_at
    assert abs((started - timezone.now()).total_seconds()) < 60

    settings.CLICKUP_WEBHOOK_SECRET = "not-the-one-clickup-signs-with"
    clickup.move_task("86b0x1y31", "review")
    assert clickup.delivered()[-1].status == 401  # refused: nothing stored
    assert ClickUpDelivery.objects.count() == 1
