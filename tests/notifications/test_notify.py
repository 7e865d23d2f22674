"""Logging a notice: the row first, once per dedupe key, with its channel and mentions; sent only with Slack."""

from __future__ import annotations

from typing import Any

import pytest

from delivery.notifications.models import Notification
from delivery.notifications.service import (
    DEPLOY_SUCCEEDED,
    ROLLBACK_STARTED,
    NotificationError,
    notification_send,
    notify,
)
from tests.factories import DeveloperFactory, RepositoryFactory
from tools.slack_server import SlackServer

pytestmark = pytest.mark.django_db
Outcome = Notification.Outcome


def test_the_log_row_is_written_before_anything_is_sent(
    slack_api: SlackServer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notification = notify(DEPLOY_SUCCEEDED, dedupe_key="deploy:1", text="acme/api v1.2.0 is in production")
    assert notification is not None
    row = Notification.objects.get(dedupe_key="deploy:1")
    assert (row.kind, row.outcome, row.attempts, row.target) == (DEPLOY_SUCCEEDED, Outcome.PENDING, 0, "#deploys")
    assert len(callbacks) == 1  # the send is queued when the caller's transaction commits
    assert slack_api.requests == []

    assert notification_send(notification_id=row.pk).outcome == Outcome.SENT
    row.refresh_from_db()
    assert (row.outcome, row.attempts, row.transport, row.error) == (Outcome.SENT, 1, "slack_web_api", "")
    assert row.sent_at is not None and row.message_ts
    [message] = slack_api.messages
    assert (message.channel, message.text) == ("#deploys", "acme/api v1.2.0 is in production")


def test_notifying_the_same_thing_twice_logs_one_row_and_sends_once(
    slack_api: SlackServer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = notify(ROLLBACK_STARTED, dedupe_key="rollback:7", text="Rollback started")
        second = notify(ROLLBACK_STARTED, dedupe_key="rollback:7", text="Rollback started (again)")
    assert first is not None and second is None
    assert len(callbacks) == 1
    assert Notification.objects.count() == 1

    assert notification_send(notification_id=first.pk).outcome == Outcome.SENT
    assert notification_send(notification_id=first.pk).outcome == "skipped"  # a duplicate task message
    assert len(slack_api.messages) == 1


def test_developers_with_a_slack_member_id_are_mentioned(slack_api: SlackServer) -> None:
    ada = DeveloperFactory(login="ada", slack_member_id="U0ADA")
    bob = DeveloperFactory(login="bob")  # no Slack id: named in the text, not mentioned
    cy = DeveloperFactory(login="cy", slack_member_id="U0CY")
    notification = notify(
        DEPLOY_SUCCEEDED,
        dedupe_key="deploy:2",
        text="acme/api v2 is in production. Owners: <@U0CY>, bob",  # cy is mentioned by the text already
        mention=[ada, bob.pk, cy],
    )
    assert notification is not None
    assert notification.text == "<@U0ADA> acme/api v2 is in production. Owners: <@U0CY>, bob"
    assert notification.payload["mentions"] == ["U0ADA", "U0CY"]
    notification_send(notification_id=notification.pk)
    assert slack_api.messages[0].text.startswith("<@U0ADA> ")


def test_the_link_is_added_unless_the_text_has_it(slack_api: SlackServer) -> None:
    with_link = notify(DEPLOY_SUCCEEDED, dedupe_key="a", text="In production", link="https://t.example/r/1")
    already = notify(DEPLOY_SUCCEEDED, dedupe_key="b", text="See https://t.example/r/2", link="https://t.example/r/2")
    assert with_link is not None and already is not None
    assert with_link.text == "In production\n<https://t.example/r/1|Open in Trunkline>"
    assert already.text == "See https://t.example/r/2"


def test_each_repository_posts_to_its_own_channel(slack_api: SlackServer) -> None:
    payments = RepositoryFactory(name="payments", slack_channel="#team-payments")
    search = RepositoryFactory(name="search")  # none of its own: the default channel
    for repository in (payments, search):
        notification = notify(
            DEPLOY_SUCCEEDED, dedupe_key=f"deploy:{repository.pk}", text=repository.name, repository=repository
        )
        assert notification is not None
        notification_send(notification_id=notification.pk)
    assert {(m.text, m.channel) for m in slack_api.messages} == {
        ("payments", "#team-payments"),
        ("search", "#deploys"),
    }
    direct = notify(DEPLOY_SUCCEEDED, dedupe_key="dm", text="to you", repository=payments, channel="U0ADA")
    assert direct is not None and direct.target == "U0ADA"


def test_without_any_channel_the_notice_fails_with_the_reason_and_is_kept(
    slack_api: SlackServer, settings: Any
) -> None:
    settings.SLACK_DEFAULT_CHANNEL = ""
    notification = notify(DEPLOY_SUCCEEDED, dedupe_key="nowhere", text="hello", repository=RepositoryFactory())
    assert notification is not None
    result = notification_send(notification_id=notification.pk)
    notification.refresh_from_db()
    assert notification.outcome == Outcome.PERMANENT_FAILURE
    assert "set the repository's Slack channel or SLACK_DEFAULT_CHANNEL" in result.error
    assert slack_api.requests == []


def test_without_slack_settings_notices_are_logged_and_nothing_is_sent(
    slack_server: SlackServer, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notification = notify(DEPLOY_SUCCEEDED, dedupe_key="deploy:3", text="In production")
    assert notification is not None
    assert (notification.outcome, notification.next_attempt_at) == (Outcome.LOGGED, None)
    assert callbacks == []
    assert notification_send(notification_id=notification.pk).outcome == Outcome.LOGGED
    notification.refresh_from_db()
    assert (notification.outcome, notification.attempts) == (Outcome.LOGGED, 0)
    assert slack_server.requests == []
    # Still once per dedupe key.
    assert notify(DEPLOY_SUCCEEDED, dedupe_key="deploy:3", text="In production") is None


def test_a_notice_queued_before_slack_was_switched_off_is_kept_as_logged(slack_api: SlackServer, settings: Any) -> None:
    notification = notify(DEPLOY_SUCCEEDED, dedupe_key="deploy:4", text="In production")
    assert notification is not None
    settings.SLACK_BOT_TOKEN = ""
    assert notification_send(notification_id=notification.pk).outcome == Outcome.LOGGED
    assert Notification.objects.get(pk=notification.pk).outcome == Outcome.LOGGED
    assert slack_api.requests == []


@pytest.mark.parametrize(
    ("kind", "key", "text", "message"),
    [
        ("deploy_went_well", "k", "t", "unknown notification kind 'deploy_went_well'"),
        (DEPLOY_SUCCEEDED, "", "t", "a dedupe key of 1 to 200 characters is required"),
        (DEPLOY_SUCCEEDED, "k" * 201, "t", "a dedupe key of 1 to 200 characters is required"),
        (DEPLOY_SUCCEEDED, "k", "  ", "a deploy_succeeded notice needs text"),
    ],
)
def test_a_notice_that_cannot_be_logged_is_refused_with_the_reason(
    kind: str, key: str, text: str, message: str
) -> None:
    with pytest.raises(NotificationError, match=message):
        notify(kind, dedupe_key=key, text=text)
    assert not Notification.objects.exists()


def test_a_very_long_text_is_cut_below_slacks_limit_and_says_so(slack_api: SlackServer) -> None:
    notification = notify(DEPLOY_SUCCEEDED, dedupe_key="long", text="x" * 50_000)
    assert notification is not None
    assert len(notification.text) < 40_000
    assert notification.text.endswith("(cut: the full notice is in Trunkline's log)")
    assert notification.payload["full_text"] == "x" * 50_000
