"""Celery tasks of the sync: thin, they take ids, call one service, and turn "wait" into a retry with a
countdown (a rate limit or an outage never keeps a worker asleep)."""

from __future__ import annotations

import logging
from functools import partial

from celery import shared_task
from django.conf import settings
from django.db import transaction

from delivery.core.backoff import backoff_seconds
from delivery.github.client import GitHubRateLimited, GitHubUnavailable, client_from_settings
from delivery.github.events import repository_changed_announce
from delivery.github.members import members_sweep, teams_sync
from delivery.github.models import Repository
from delivery.github.sync import SyncAlreadyRunning, organization_repositories_sync, repository_sync
from delivery.github.sync_lease import sync_runs_interrupted_close
from delivery.github.webhooks import deliveries_sweep, delivery_process, failed_deliveries_recover

logger = logging.getLogger(__name__)

MAX_OUTAGE_RETRIES = 8


@shared_task(bind=True, acks_late=True, max_retries=None)
def sync_repository_task(self, repository_id: int, trigger: str = "schedule", outage_attempt: int = 0) -> None:
    """Sync one repository. Rate limits retry at the reset, as often as needed; outages (5xx, no connection)
    retry with a growing, jittered countdown, MAX_OUTAGE_RETRIES times in a row, counted apart."""
    if not Repository.objects.filter(pk=repository_id, is_active=True).exists():
        return  # deleted or unfollowed since it was queued
    client = client_from_settings()
    try:
        repository_sync(repository_id=repository_id, client=client, trigger=trigger)
        repository_changed_announce(repository_id=repository_id)
    except SyncAlreadyRunning:
        logger.info("repository %s: a sync is already running; not starting another", repository_id)
    except GitHubRateLimited as exc:
        logger.warning("repository %s: %s; retrying in %.0fs", repository_id, exc, exc.wait_seconds)
        raise self.retry(countdown=max(1.0, exc.wait_seconds), exc=exc) from exc
    except GitHubUnavailable as exc:
        if outage_attempt >= MAX_OUTAGE_RETRIES:
            raise
        countdown = backoff_seconds(outage_attempt, base=settings.GITHUB_BACKOFF_SECONDS * 30, cap=900.0)
        logger.warning("repository %s: %s; retrying in %.0fs", repository_id, exc, countdown)
        raise self.retry(
            kwargs={"repository_id": repository_id, "trigger": trigger, "outage_attempt": outage_attempt + 1},
            args=(),
            countdown=countdown,
            exc=exc,
        ) from exc
    finally:
        client.close()


@shared_task(bind=True, acks_late=True, max_retries=None)
def sync_organization_task(self, trigger: str = "schedule") -> None:
    """The periodic sync: refresh the repository list, then queue one sync per followed repository."""
    sync_runs_interrupted_close()  # runs whose worker died, in repositories no sync has taken over since
    if not settings.GITHUB_ORG:
        logger.info("GITHUB_ORG is not set; nothing to sync")
        return
    client = client_from_settings()
    try:
        _, repository_ids = organization_repositories_sync(client=client, org=settings.GITHUB_ORG)
    except GitHubRateLimited as exc:
        raise self.retry(countdown=max(1.0, exc.wait_seconds), exc=exc) from exc
    except GitHubUnavailable as exc:
        raise self.retry(
            countdown=backoff_seconds(self.request.retries, base=30.0, cap=900.0),
            exc=exc,
            max_retries=MAX_OUTAGE_RETRIES,
        ) from exc
    finally:
        client.close()
    for repository_id in repository_ids:
        transaction.on_commit(partial(sync_repository_task.delay, repository_id, trigger=trigger))


# -- webhooks ----------------------------------------------------------------------------------------------------------
# A delivery that runs this long is stopped (prefork pool); its claim's heartbeat stops with it, and the sweep
# queues it again once the claim is stale (up to MAX_ATTEMPTS).
@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def process_webhook_delivery_task(delivery_id: int) -> str:
    """Process one stored delivery (at most once: the service claims it; reads from GitHub are best effort and
    never make it wait or retry)."""
    return delivery_process(delivery_id=delivery_id)


@shared_task(acks_late=True)
def sweep_webhook_deliveries_task() -> int:
    return deliveries_sweep()


@shared_task(acks_late=True)
def recover_webhook_deliveries_task() -> int:
    """Redeliver from GitHub's log what never reached us. Needs the organization and API credentials."""
    if not settings.GITHUB_ORG or not settings.TRUNKLINE_PUBLIC_URL:
        return 0
    client = client_from_settings()
    try:
        recovery = failed_deliveries_recover(client=client, org=settings.GITHUB_ORG)
    except (GitHubRateLimited, GitHubUnavailable) as exc:
        logger.warning("webhook recovery postponed: %s", exc)
        return 0
    finally:
        client.close()
    if recovery.redelivered:
        logger.info("asked GitHub to redeliver %s failed webhook deliveries", recovery.redelivered)
    return recovery.redelivered


@shared_task(name="github.members_sweep", ignore_result=True)
def members_sweep_task() -> int:
    """Beat: switch off the accounts of people who left the organization; read its teams and their members."""
    teams_sync()
    return members_sweep()
