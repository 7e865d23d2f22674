"""The notification log in the admin: read, and "retry now" for notices that did not go out."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from delivery.notifications.models import Notification
from delivery.notifications.service import DEPLOY_FAILED, notification_send, notify
from tools.slack_server import SlackServer

pytestmark = pytest.mark.django_db
Outcome = Notification.Outcome


def _retry_now(admin_client: Any, *notifications: Notification) -> Any:
    return admin_client.post(
        reverse("admin:notifications_notification_changelist"),
        {"action": "retry_now", "_selected_action": [n.pk for n in notifications]},
        follow=True,
    )


def test_the_log_lists_notices_and_shows_one_read_only(admin_client: Any, slack_api: SlackServer) -> None:
    notification = notify(DEPLOY_FAILED, dedupe_key="deploy-failed:9", text="acme/api v9 failed")
    assert notification is not None
    listing = admin_client.get(reverse("admin:notifications_notification_changelist"))
    assert listing.status_code == 200
    assert b"deploy_failed" in listing.content
    page = admin_client.get(reverse("admin:notifications_notification_change", args=[notification.pk]))
    assert page.status_code == 200
    assert b'name="text"' not in page.content  # no form fields: the log is not edited
    assert admin_client.get(reverse("admin:notifications_notification_add")).status_code == 403


def test_retry_now_sends_a_permanently_failed_notice_again_once_the_channel_is_fixed(
    admin_client: Any, slack_api: SlackServer, django_capture_on_commit_callbacks: Any
) -> None:
    slack_api.archive_channel("#deploys")
    failed = notify(DEPLOY_FAILED, dedupe_key="deploy-failed:10", text="acme/api v10 failed")
    sent = notify(DEPLOY_FAILED, dedupe_key="deploy-failed:11", text="acme/api v11 failed")
    assert failed is not None and sent is not None
    assert notification_send(notification_id=failed.pk).outcome == Outcome.PERMANENT_FAILURE
    slack_api.restore_channel("#deploys")
    assert notification_send(notification_id=sent.pk).outcome == Outcome.SENT

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _retry_now(admin_client, failed, sent)
    assert b"1 notices queued again (1 already sent or being sent were left alone)." in response.content
    assert len(callbacks) == 1
    failed.refresh_from_db()
    assert (failed.outcome, failed.attempts) == (Outcome.PENDING, 0)
    assert Notification.objects.get(pk=sent.pk).outcome == Outcome.SENT  # not sent twice

    assert notification_send(notification_id=failed.pk).outcome == Outcome.SENT
    assert sorted(m.text for m in slack_api.messages) == ["acme/api v10 failed", "acme/api v11 failed"]


def test_retry_now_without_slack_says_so_and_changes_nothing(admin_client: Any) -> None:
    logged = notify(DEPLOY_FAILED, dedupe_key="deploy-failed:12", text="acme/api v12 failed")
    assert logged is not None and logged.outcome == Outcome.LOGGED
    response = _retry_now(admin_client, logged)
    assert b"Neither Slack (SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL) nor ClickUp" in response.content
    assert Notification.objects.get(pk=logged.pk).outcome == Outcome.LOGGED
