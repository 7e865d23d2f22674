"""Redis gives an unacknowledged message to another worker after its visibility timeout; a task waiting in a countdown
(a rate limit's reset, Slack's Retry-After: up to an hour) holds its message unacknowledged. So the visibility timeout
must outlast the longest countdown plus a task's run, or such a task runs twice; and no countdown may be longer."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from celery.signals import before_task_publish
from django.conf import settings
from django.utils import timezone

from delivery.celery import app as celery_app
from delivery.github.tasks import sync_repository_task
from delivery.notifications.tasks import send_notification_task
from tests.conftest import ROOT

HOUR = 3600


def _trunkline_tasks() -> list[Any]:
    celery_app.loader.import_default_modules()
    return [task for name, task in celery_app.tasks.items() if name.startswith("delivery.")]


def test_the_visibility_timeout_outlasts_the_longest_countdown_and_the_longest_run() -> None:
    longest_run = max(task.time_limit or 0 for task in _trunkline_tasks())
    assert longest_run > 0  # the webhook task's, at least
    assert settings.TASK_MAX_COUNTDOWN_SECONDS >= HOUR  # GitHub's rate limit resets within the hour: one wait
    assert settings.SLACK_RETRY_MAX_SECONDS <= settings.TASK_MAX_COUNTDOWN_SECONDS
    assert settings.TASK_MAX_COUNTDOWN_SECONDS + longest_run < settings.REDIS_VISIBILITY_TIMEOUT


def test_the_redis_transport_is_given_that_visibility_timeout() -> None:
    """The settings as production loads them (REDIS_URL set), whatever broker this test run uses."""
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:6379/0", "DJANGO_SETTINGS_MODULE": "delivery.settings"}
    read = "from delivery import settings as s; print(s.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'])"
    out = subprocess.run([sys.executable, "-c", read], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert int(out.stdout.strip()) == settings.REDIS_VISIBILITY_TIMEOUT


@pytest.fixture
def published() -> Iterator[list[datetime]]:
    """The ETA of every task published during the test (to a queue of its own, deleted at the end)."""
    etas: list[datetime] = []
    queue = f"test-countdowns-{uuid.uuid4().hex[:12]}"

    def seen(headers: dict[str, Any] | None = None, **_: Any) -> None:
        if headers and headers.get("eta"):
            etas.append(datetime.fromisoformat(headers["eta"]))

    before_task_publish.connect(seen, weak=False)
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    try:
        yield etas
    finally:
        before_task_publish.disconnect(seen)
        celery_app.conf.task_default_queue = previous
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)


def _latest_allowed() -> datetime:
    return timezone.now() + timedelta(seconds=settings.TASK_MAX_COUNTDOWN_SECONDS + 5)


def test_a_longer_countdown_or_eta_is_cut_to_the_longest_allowed(published: list[datetime]) -> None:
    send_notification_task.apply_async((0,), countdown=2 * HOUR)  # a Slack Retry-After of two hours
    send_notification_task.apply_async((0,), eta=timezone.now() + timedelta(hours=3))
    send_notification_task.apply_async((0,), countdown=60)
    assert len(published) == 3
    assert all(eta <= _latest_allowed() for eta in published)
    assert published[2] < timezone.now() + timedelta(seconds=61)  # shorter ones are left alone


def test_a_retry_after_a_long_rate_limit_is_cut_too(published: list[datetime]) -> None:
    """`Task.retry` (how the sync waits for GitHub's reset) publishes through the same apply_async."""
    sync_repository_task.push_request(
        id=str(uuid.uuid4()), args=(1,), kwargs={}, retries=0, called_directly=False, is_eager=False
    )
    try:
        sync_repository_task.retry(countdown=5 * HOUR, throw=False)
    finally:
        sync_repository_task.pop_request()
    assert len(published) == 1 and published[0] <= _latest_allowed()
