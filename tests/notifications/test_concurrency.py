"""Races closed by the database: the unique dedupe key (one row, however many callers notify at once) and the
conditional claim (one post, however many workers take the same row at once)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest
from django.db import connection, transaction

from delivery.notifications.models import Notification
from delivery.notifications.service import DEPLOY_SUCCEEDED, notification_send, notify
from tests.concurrency import at_once
from tools.slack_server import SlackServer

pytestmark = pytest.mark.django_db(transaction=True)
T = TypeVar("T")
THREADS = 6


def _at_once(work: Callable[[], T]) -> list[T]:
    return at_once(work, THREADS)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's concurrent writers")
def test_notifying_one_thing_from_many_places_at_once_logs_one_row(slack_api: SlackServer) -> None:
    def notify_in_a_transaction() -> int | None:
        with transaction.atomic():
            notification = notify(DEPLOY_SUCCEEDED, dedupe_key="deploy:race", text="acme/api v3 is in production")
            return notification.pk if notification else None

    results = _at_once(notify_in_a_transaction)
    created = [pk for pk in results if pk is not None]
    assert len(created) == 1
    assert Notification.objects.filter(dedupe_key="deploy:race").count() == 1
    # The one row's send went to the broker on commit; sent here in the foreground, it is posted once.
    _at_once(lambda: notification_send(notification_id=created[0]).outcome)
    assert len(slack_api.messages) == 1


def test_many_workers_sending_one_notice_at_once_post_it_once(slack_api: SlackServer) -> None:
    notification = Notification.objects.create(
        kind=DEPLOY_SUCCEEDED, dedupe_key="deploy:claim", text="once", target="#deploys"
    )
    outcomes = _at_once(lambda: notification_send(notification_id=notification.pk).outcome)
    assert sorted(outcomes) == ["sent"] + ["skipped"] * (THREADS - 1)
    assert [m.text for m in slack_api.messages] == ["once"]
    notification.refresh_from_db()
    assert (notification.outcome, notification.attempts) == ("sent", 1)
