"""Notices sent by a real Celery worker process, through the Slack stand-in, over real HTTP."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from delivery.notifications.models import Notification
from delivery.notifications.service import DEPLOY_SUCCEEDED, ROLLBACK_FAILED, notifications_sweep, notify
from tests.conftest import wait_for
from tools.slack_server import SlackServer

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
Outcome = Notification.Outcome


@pytest.fixture
def slack_worker(slack_webhook: SlackServer, monkeypatch: Any, request: Any) -> subprocess.Popen[bytes]:
    """A real worker whose settings (read from its environment) point at the stand-in's webhook."""
    monkeypatch.setenv("SLACK_WEBHOOK_URL", slack_webhook.webhook_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "")
    return request.getfixturevalue("celery_worker")  # started after the environment is set


def _sent(pk: int) -> Notification | None:
    return Notification.objects.filter(pk=pk, outcome=Outcome.SENT).first()


def test_a_worker_sends_a_logged_notice(slack_worker: Any, slack_webhook: SlackServer) -> None:
    notification = notify(DEPLOY_SUCCEEDED, dedupe_key="deploy:worker", text="acme/api v4 is in production")
    assert notification is not None  # queued at once: no transaction around this call
    sent = wait_for(lambda: _sent(notification.pk), timeout=60, what="the worker to send the notice")
    assert (sent.attempts, sent.transport) == (1, "slack_webhook")
    assert [m.text for m in slack_webhook.messages] == ["acme/api v4 is in production"]


def test_a_worker_retries_a_rate_limited_notice_after_retry_after(
    slack_worker: Any, slack_webhook: SlackServer
) -> None:
    slack_webhook.rate_limit_next(retry_after=1)
    notification = notify(ROLLBACK_FAILED, dedupe_key="rollback:worker", text="Rollback FAILED")
    assert notification is not None
    sent = wait_for(lambda: _sent(notification.pk), timeout=60, what="the retried notice to be sent")
    assert sent.attempts == 2
    limited, accepted = slack_webhook.requests
    assert (limited.status, accepted.status) == (429, 200)
    assert accepted.received_at - limited.received_at >= 1.0  # not before Slack said
    assert len(slack_webhook.messages) == 1


def test_the_sweep_queues_a_notice_whose_message_was_lost(slack_worker: Any, slack_webhook: SlackServer) -> None:
    """Logged while the broker was down (or its message lost): the periodic sweep queues it and it goes out."""
    lost = Notification.objects.create(
        kind=DEPLOY_SUCCEEDED,
        dedupe_key="deploy:lost",
        text="logged while the broker was down",
        next_attempt_at=timezone.now() - timedelta(minutes=5),
    )
    waiting = Notification.objects.create(  # a retry whose own message is still to come: left alone
        kind=DEPLOY_SUCCEEDED,
        dedupe_key="deploy:later",
        text="later",
        outcome=Outcome.FAILED,
        next_attempt_at=timezone.now() + timedelta(minutes=5),
    )
    assert notifications_sweep() == 1
    wait_for(lambda: _sent(lost.pk), timeout=60, what="the swept notice to be sent")
    assert [m.text for m in slack_webhook.messages] == ["logged while the broker was down"]
    assert Notification.objects.get(pk=waiting.pk).outcome == Outcome.FAILED
