"""Asking for the next step: the names of the flows' Celery tasks (delivery.flows.tasks), queued by name through
delivery.core.queue so that the flows never import the tasks module that calls them."""

from __future__ import annotations

from django.db import transaction

from delivery.core.queue import task_queue
from delivery.github.events import repository_changed_announce as repository_change_request

__all__ = ["repository_change_request", "rollback_execute_request"]
DERIVE_ALL = "flows.derive_all"
EXECUTE_ROLLBACK = "flows.execute_rollback"
POLL_ROLLBACKS = "flows.poll_rollbacks"
WATCHES_OVERDUE = "flows.watches_overdue"
WATCH_SIGNALS_READ = "flows.watch_signals_read"
WEEKLY_REPORTS = "flows.weekly_reports"
AGREEMENT_NUDGES = "flows.agreement_nudges"
REFRESH_TASK_LINKS = "flows.task_links_refresh"
SWEEP_ALERT_DELIVERIES = "flows.alert_deliveries_sweep"
READ_TASK = "flows.task_read"
READ_CLICKUP_QUEUES = "flows.clickup_queues"
SWEEP_CLICKUP_DELIVERIES = "flows.clickup_deliveries_sweep"


def rollback_execute_request(*, rollback_id: int) -> None:
    """Ask GitHub for the rollback once the caller's transaction commits (the poll starts it if the broker is down)."""
    transaction.on_commit(lambda: task_queue(EXECUTE_ROLLBACK, rollback_id))
