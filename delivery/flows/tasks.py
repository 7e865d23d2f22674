"""The Celery tasks that run a flow: thin, they take ids and call one flow. Their names are in
delivery.flows.requests (the flows queue them by name)."""

from __future__ import annotations

from celery import Task, shared_task
from django.conf import settings

from delivery.clickup.client import ClickUpUnavailable, RateLimited
from delivery.clickup.webhooks import PROCESS_TASK
from delivery.core.backoff import backoff_seconds
from delivery.flows import requests
from delivery.flows.agreements import agreement_nudges_told
from delivery.flows.changes import repositories_changed, repository_changed
from delivery.flows.incidents import alerts_received
from delivery.flows.reports import weekly_reports_due
from delivery.flows.rollbacks import rollback_executed, rollbacks_polled
from delivery.flows.task_links import task_links_refreshed, task_read
from delivery.flows.task_queues import clickup_queues_read
from delivery.flows.task_webhooks import clickup_deliveries_swept, clickup_delivery_processed
from delivery.flows.watches import watch_signals_read, watches_overdue
from delivery.github.events import REPOSITORY_CHANGED
from delivery.github.models import Repository
from delivery.monitoring.alertmanager import ALERTS_RECEIVED, alert_deliveries_sweep


@shared_task(name=REPOSITORY_CHANGED, acks_late=True)
def derive_repository_task(repository_id: int) -> int:
    """One repository's mirror changed (the mirror announced it: delivery.github.events): derive it and what
    follows."""
    if not Repository.objects.filter(pk=repository_id).exists():
        return 0
    return repository_changed(repository_id=repository_id).changes_written


@shared_task(name=requests.DERIVE_ALL, acks_late=True)
def derive_all_task() -> int:
    """Beat: every followed repository (time alone moves changes: a watch window ends, a change becomes stuck)."""
    return repositories_changed()


@shared_task(name=requests.EXECUTE_ROLLBACK, ignore_result=True)
def execute_rollback_task(rollback_id: int) -> str:
    """Ask GitHub to deploy the rollback's target (once: the state claims it)."""
    return rollback_executed(rollback_id=rollback_id).state


@shared_task(name=requests.POLL_ROLLBACKS, ignore_result=True)
def poll_rollbacks_task() -> int:
    """Beat, every minute: the fallback for rollbacks that hear no webhook, and their timeout."""
    return rollbacks_polled()


@shared_task(name=requests.WATCHES_OVERDUE, ignore_result=True)
def watches_overdue_task() -> tuple[int, int]:
    """Beat, every minute: alert owners of overdue watches, then on-call."""
    return watches_overdue()


@shared_task(name=requests.WATCH_SIGNALS_READ, ignore_result=True)
def watch_signals_read_task() -> int:
    """Beat, every few minutes: read and judge each open watch's production signals; tell a degraded one."""
    return watch_signals_read()


@shared_task(name=requests.WEEKLY_REPORTS, ignore_result=True)
def weekly_reports_task() -> int:
    """Beat, every 15 minutes: the week just ended's reports once they are due, and their Slack summaries (once)."""
    return len(weekly_reports_due())


@shared_task(name=requests.AGREEMENT_NUDGES, ignore_result=True)
def agreement_nudges_task() -> int:
    """Beat, every 5 minutes: changes close to breaking a working agreement, told once to their owner at each level."""
    return agreement_nudges_told()


@shared_task(name=requests.REFRESH_TASK_LINKS, bind=True, ignore_result=True, max_retries=8)
def task_links_refresh_task(self: Task) -> int:
    """After a derivation linked new tasks, and beat every few minutes: read the tasks due from ClickUp. A rate limit
    waits for its reset and an outage backs off, as a countdown (the worker takes other tasks meanwhile)."""
    try:
        return len(task_links_refreshed().found)
    except (RateLimited, ClickUpUnavailable) as exc:
        raise _clickup_retry(self, exc) from exc


@shared_task(name=requests.READ_TASK, bind=True, ignore_result=True, max_retries=8)
def task_read_task(self: Task, task_id: str) -> int:
    """After a ClickUp delivery: read its task again (its checklists, its description's criteria), as above."""
    try:
        return len(task_read(task_id=task_id).found)
    except (RateLimited, ClickUpUnavailable) as exc:
        raise _clickup_retry(self, exc) from exc


@shared_task(name=requests.READ_CLICKUP_QUEUES, bind=True, ignore_result=True, max_retries=3)
def clickup_queues_task(self: Task) -> int:
    """Beat, every 5 minutes: ClickUp's members matched to people, and the tasks waiting for them, as above."""
    try:
        return clickup_queues_read().tasks
    except (RateLimited, ClickUpUnavailable) as exc:
        raise _clickup_retry(self, exc) from exc


def _clickup_retry(task: Task, exc: RateLimited | ClickUpUnavailable) -> Exception:
    """A rate limit retries once it resets; an outage backs off."""
    if isinstance(exc, RateLimited):
        return task.retry(countdown=exc.wait_seconds(), exc=exc)
    wait = backoff_seconds(
        task.request.retries, base=settings.CLICKUP_RETRY_BACKOFF_SECONDS, cap=settings.CLICKUP_RETRY_MAX_SECONDS
    )
    return task.retry(countdown=wait, exc=exc)


# A delivery that runs this long is stopped; its claim's heartbeat stops with it and the sweep queues it again.
@shared_task(name=PROCESS_TASK, acks_late=True, soft_time_limit=240, time_limit=300)
def clickup_delivery_task(delivery_id: int) -> str:
    """Process one stored ClickUp delivery (at most once: the flow claims it)."""
    return clickup_delivery_processed(delivery_id=delivery_id)


@shared_task(name=requests.SWEEP_CLICKUP_DELIVERIES, acks_late=True, ignore_result=True)
def clickup_deliveries_sweep_task() -> int:
    """Beat: ClickUp deliveries the broker could not take, or whose worker died, queued again."""
    return clickup_deliveries_swept()


# A delivery that runs this long is stopped; its claim's heartbeat stops with it and the sweep queues it again.
@shared_task(name=ALERTS_RECEIVED, acks_late=True, soft_time_limit=240, time_limit=300)
def alerts_received_task(delivery_id: int) -> str:
    """One stored Alertmanager delivery: its alerts, their incidents, the notices (at most once: the claim)."""
    return alerts_received(delivery_id=delivery_id)


@shared_task(name=requests.SWEEP_ALERT_DELIVERIES, acks_late=True)
def sweep_alert_deliveries_task() -> int:
    """Beat: Alertmanager deliveries the broker did not take, or whose worker died, are queued again."""
    return alert_deliveries_sweep()
