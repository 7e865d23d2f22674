from __future__ import annotations

from celery import shared_task

from delivery.monitoring.services import overdue_alert


@shared_task(ignore_result=True)
def monitoring_overdue_task() -> tuple[int, int]:
    """Beat, every minute: alert owners of overdue monitoring sessions, then on-call."""
    return overdue_alert()
