"""Queueing a Celery task by its name. A service that must queue its own app's task (a notice's send) or a flow
that queues the next step would otherwise import the tasks module that imports it: the name is the interface,
and the task is looked up in the Celery app at the moment it is queued."""

from __future__ import annotations

import logging

from django.conf import settings

from delivery.celery import app

logger = logging.getLogger(__name__)


def task_queue(name: str, *args: object, countdown: float | None = None) -> bool:
    """Queue the task now. False (and a warning) when the broker refuses: the caller's periodic sweep is the
    safety net, and nothing the caller wrote is lost."""
    if countdown is not None:  # as delivery.celery.Task cuts it: Redis would hand a longer wait to a second worker
        countdown = min(countdown, settings.TASK_MAX_COUNTDOWN_SECONDS)
    try:
        app.send_task(name, args=args, countdown=countdown, retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the caller's sweep catches up
        logger.warning("task %s%s not queued (broker: %s)", name, args, exc)
        return False
    return True
