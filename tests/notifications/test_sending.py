"""Sending through slack_sdk to the stand-in, over real HTTP: transient failures come back later (429 exactly
after Retry-After, outages with growing backoff), permanent ones are recorded and never retried."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from delivery.notifications.models import Notification
from delivery.notifications.service import DEPLOY_FAILED, SendResult, notification_send, notifications_sweep, notify
from tools.slack_server import SlackServer

pytestmark = pytest.mark.django_db
Outcome = Notification.Outcome


def _logged(key: str = "deploy-failed:1", text: str = "acme/api v1.0.1 failed") -> Notification:
    notification = notify(DEPLOY_FAILED, dedupe_key=key, text=text)
    assert notification is not None
    return notification


def _send(notification: Notification, now: Any = None) -> tuple[SendResult, Notification]:
    result = notification_send(notification_id=notification.pk, now=now)
    return result, Notification.objects.get(pk=notification.pk)


def test_both_transports_post_the_notice(slack: SlackServer) -> None:
    result, row = _send(_logged())
    assert result.outcome == Outcome.SENT
    [message] = slack.messages
    assert message.text == "acme/api v1.0.1 failed"
    if message.via == "api":
        assert (row.transport, message.channel, row.message_ts) == ("slack_web_api", "#deploys", message.ts)
    else:
        assert (row.transport, message.channel, row.message_ts) == ("slack_webhook", "deploys", "")


def test_blocks_are_posted_with_the_text_as_fallback(slack: SlackServer) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*acme/api* failed"}}]
    notification = notify(DEPLOY_FAILED, dedupe_key="blocks", text="acme/api failed", blocks=blocks)
    assert notification is not None
    _send(notification)
    [message] = slack.messages
    assert (message.text, message.blocks) == ("acme/api failed", blocks)


def test_a_rate_limited_notice_is_retried_exactly_after_retry_after_then_sent(slack: SlackServer) -> None:
    notification = _logged()
    slack.rate_limit_next(retry_after=1)
    now = timezone.now()
    result, row = _send(notification, now=now)
    assert (result.outcome, result.retry_in) == (Outcome.FAILED, 1.0)
    assert row.outcome == Outcome.FAILED and "rate limited" in row.error
    # Due one second after Slack's answer (which came within a moment of the request).
    assert timedelta(seconds=1) <= row.next_attempt_at - now < timedelta(seconds=1.5)

    early, _ = _send(notification, now=now + timedelta(seconds=0.5))
    assert early.outcome == "not_due" and 0.5 <= early.retry_in <= 1.0
    assert [r.status for r in slack.requests] == [429]  # nothing was sent early

    result, row = _send(notification, now=row.next_attempt_at)
    assert result.outcome == Outcome.SENT
    assert (row.outcome, row.attempts, row.error) == (Outcome.SENT, 2, "")
    assert [r.status for r in slack.requests] == [429, 200]
    assert len(slack.messages) == 1


def test_an_outage_is_retried_with_growing_backoff_then_sent(slack: SlackServer, settings: Any) -> None:
    settings.SLACK_RETRY_BACKOFF_SECONDS = 10
    notification = _logged()
    slack.fail_next(2, status=500)
    now = timezone.now()

    first, row = _send(notification, now=now)
    assert first.outcome == Outcome.FAILED and 5 <= first.retry_in <= 10
    assert row.error.startswith("attempt 1: Slack answered 500")
    second, row = _send(notification, now=row.next_attempt_at)
    assert second.outcome == Outcome.FAILED and 10 <= second.retry_in <= 20
    assert row.error.startswith("attempt 2:")
    third, row = _send(notification, now=row.next_attempt_at)
    assert third.outcome == Outcome.SENT
    assert (row.outcome, row.attempts) == (Outcome.SENT, 3)
    assert [r.status for r in slack.requests] == [500, 500, 200]


def test_backoff_is_capped(slack_api: SlackServer, settings: Any) -> None:
    settings.SLACK_RETRY_BACKOFF_SECONDS = 10
    settings.SLACK_RETRY_MAX_SECONDS = 15
    settings.SLACK_MAX_ATTEMPTS = 10
    notification = _logged()
    slack_api.fail_next(5)
    row = notification
    for _ in range(5):
        result, row = _send(notification, now=row.next_attempt_at)
        assert result.retry_in is not None and result.retry_in <= 15


def test_a_notice_that_keeps_failing_is_given_up_after_the_last_attempt(slack: SlackServer, settings: Any) -> None:
    settings.SLACK_MAX_ATTEMPTS = 2
    notification = _logged()
    slack.fail_next(5, status=503)
    result, row = _send(notification)
    assert result.outcome == Outcome.FAILED
    result, row = _send(notification, now=row.next_attempt_at)
    assert result.outcome == Outcome.PERMANENT_FAILURE
    assert row.outcome == Outcome.PERMANENT_FAILURE
    assert row.error.startswith("gave up after 2 attempts; the last: Slack answered 503")
    assert row.next_attempt_at is None
    assert _send(notification, now=timezone.now() + timedelta(days=1))[0].outcome == "skipped"
    assert len(slack.requests) == 2


def test_slack_out_of_reach_is_an_outage_not_a_loss(settings: Any) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.SLACK_WEBHOOK_URL = f"http://127.0.0.1:{port}/services/T000/B000/XXXX"
    notification = _logged()
    result, row = _send(notification)
    assert result.outcome == Outcome.FAILED
    assert row.outcome == Outcome.FAILED and "could not reach Slack" in row.error
    assert row.next_attempt_at is not None


@pytest.mark.parametrize("what", ["deleted", "archived"])
def test_a_gone_channel_is_a_permanent_failure_and_not_retried(slack: SlackServer, what: str) -> None:
    (slack.delete_channel if what == "deleted" else slack.archive_channel)("#deploys")
    notification = _logged()
    result, row = _send(notification)
    assert result.outcome == Outcome.PERMANENT_FAILURE
    assert (row.outcome, row.next_attempt_at, row.attempts) == (Outcome.PERMANENT_FAILURE, None, 1)
    expected = {
        ("api", "deleted"): "Slack API error: channel_not_found (channel #deploys)",
        ("api", "archived"): "Slack API error: is_archived (channel #deploys)",
        ("webhook", "deleted"): "Slack answered 404 channel_not_found",
        ("webhook", "archived"): "Slack answered 410 channel_is_archived",
    }
    via = "api" if slack.requests[0].path.startswith("/api/") else "webhook"
    assert row.error == expected[via, what]

    slack.restore_channel("#deploys")
    assert _send(notification, now=timezone.now() + timedelta(days=1))[0].outcome == "skipped"
    assert len(slack.requests) == 1 and slack.messages == []


def test_a_wrong_bot_token_is_a_permanent_failure(slack_api: SlackServer, settings: Any) -> None:
    settings.SLACK_BOT_TOKEN = "xoxb-wrong"
    result, row = _send(_logged())
    assert (result.outcome, row.error) == (
        Outcome.PERMANENT_FAILURE,
        "Slack API error: invalid_auth (channel #deploys)",
    )


def test_a_slack_internal_error_answered_with_200_is_retried(slack_api: SlackServer) -> None:
    """Slack's Web API sometimes says `ok: false, error: internal_error` with a 200: that passes, so try again."""
    slack_api.error_next("internal_error")
    notification = _logged()
    result, row = _send(notification)
    assert (result.outcome, row.error) == (Outcome.FAILED, "attempt 1: Slack API error: internal_error")
    assert _send(notification, now=row.next_attempt_at)[0].outcome == Outcome.SENT


@pytest.mark.parametrize("error", ["not_in_channel", "missing_scope", "msg_too_long", "some_future_error"])
def test_other_slack_errors_are_permanent(slack_api: SlackServer, error: str) -> None:
    slack_api.error_next(error)
    result, row = _send(_logged())
    assert (result.outcome, row.error) == (Outcome.PERMANENT_FAILURE, f"Slack API error: {error} (channel #deploys)")


def test_a_notice_left_sending_by_a_dead_worker_is_taken_again_once_stale(slack_api: SlackServer) -> None:
    now = timezone.now()
    abandoned = Notification.objects.create(
        kind=DEPLOY_FAILED,
        dedupe_key="abandoned",
        text="abandoned",
        target="#deploys",
        outcome=Outcome.SENDING,
        attempts=1,
        sending_started_at=now - timedelta(minutes=10),
    )
    in_flight = Notification.objects.create(
        kind=DEPLOY_FAILED,
        dedupe_key="in-flight",
        text="in flight",
        target="#deploys",
        outcome=Outcome.SENDING,
        attempts=1,
        sending_started_at=now - timedelta(seconds=20),
    )
    assert _send(in_flight, now=now)[0].outcome == "skipped"  # its worker is still at it
    result, row = _send(abandoned, now=now)
    assert (result.outcome, row.attempts) == (Outcome.SENT, 2)
    assert [m.text for m in slack_api.messages] == ["abandoned"]


def test_the_sweep_gives_up_on_a_notice_whose_worker_died_at_every_attempt(slack_api: SlackServer) -> None:
    dead = Notification.objects.create(
        kind=DEPLOY_FAILED,
        dedupe_key="kills-its-worker",
        text="x",
        outcome=Outcome.SENDING,
        attempts=5,
        sending_started_at=timezone.now() - timedelta(minutes=10),
    )
    assert notifications_sweep() == 0
    dead.refresh_from_db()
    assert dead.outcome == Outcome.PERMANENT_FAILURE
    assert dead.error == "gave up after 5 attempts: the worker stopped while sending it each time"
