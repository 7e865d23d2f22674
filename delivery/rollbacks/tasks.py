from __future__ import annotations

from celery import shared_task

from delivery.rollbacks.services import rollback_execute, rollbacks_poll


@shared_task(ignore_result=True)
def execute_rollback_task(rollback_id: int) -> str:
    """Ask GitHub to deploy the rollback's target (once: the state claims it)."""
    return rollback_execute(rollback_id=rollback_id).state


@shared_task(ignore_result=True)
def poll_rollbacks_task() -> int:
    """Beat, every minute: the fallback for rollbacks that hear no webhook, and their timeout."""
    return rollbacks_poll()
