"""Keeping the derivation fresh: ingest asks for a repository to be derived again; requests coalesce."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from delivery.github.models import Repository
from delivery.pipeline.derive import DeriveSummary, repository_pipeline_derive

logger = logging.getLogger(__name__)


def repository_derive_request(*, repository_id: int) -> bool:
    """Queue a derivation of the repository once the caller's transaction commits, unless one is already queued
    (one conditional UPDATE decides, so a burst of webhooks queues one). Returns whether it queued one."""
    if not Repository.objects.filter(pk=repository_id, derive_pending=False).update(derive_pending=True):
        return False
    from delivery.pipeline.tasks import derive_repository_task

    def enqueue() -> None:
        try:
            derive_repository_task.apply_async((repository_id,), retry=False)
        except Exception as exc:  # noqa: BLE001 - the periodic derivation catches up
            logger.warning(
                "derivation of repository %s not queued (%s); the periodic one will do it", repository_id, exc
            )
            Repository.objects.filter(pk=repository_id).update(derive_pending=False)

    transaction.on_commit(enqueue)
    return True


def repository_derive(*, repository_id: int) -> DeriveSummary:
    """Derive now. The pending flag is cleared first, so a request arriving meanwhile queues another run."""
    Repository.objects.filter(pk=repository_id).update(derive_pending=False)
    summary = repository_pipeline_derive(repository_id=repository_id)
    Repository.objects.filter(pk=repository_id).update(derived_at=timezone.now())
    # What follows from the releases: monitoring sessions for new ones, rollbacks moving along their deployment.
    from delivery.monitoring.services import deploy_failures_notify, sessions_open
    from delivery.rollbacks.services import rollbacks_follow

    sessions_open(repository_id=repository_id)
    deploy_failures_notify(repository_id=repository_id)
    rollbacks_follow(repository_id=repository_id)
    return summary
