"""Celery tasks of the notices: thin, they take ids and call one service; a failed send comes back as a new
message with a countdown (a rate limit or an outage never keeps a worker asleep)."""

from __future__ import annotations

from celery import shared_task

from delivery.notifications.service import SEND_TASK, notification_enqueue, notification_send, notifications_sweep


@shared_task(name=SEND_TASK, acks_late=True)
def send_notification_task(notification_id: int) -> str:
    """Send one logged notice; when it is to be tried again, queue that try for its time."""
    result = notification_send(notification_id=notification_id)
    if result.retry_in is not None:
        # If the broker refuses, the row keeps its next attempt time and the sweep queues it.
        notification_enqueue(notification_id, countdown=result.retry_in)
    return result.outcome


@shared_task(name="notifications.sweep", acks_late=True)
def sweep_notifications_task() -> int:
    """Periodic (beat, every minute): queue notices whose message was lost or whose worker died."""
    return notifications_sweep()
