"""A repository's mirror changed (a sync, a webhook, time passing): what follows, in order."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from delivery.flows import notices
from delivery.flows.incidents import incidents_followed
from delivery.flows.rollbacks import rollbacks_followed
from delivery.flows.task_links import task_links_written
from delivery.flows.watches import watches_open
from delivery.github.events import repository_change_taken
from delivery.github.models import Repository
from delivery.pipeline.derive import DeriveSummary
from delivery.pipeline.services import repository_derive


def repository_changed(*, repository_id: int, now: datetime | None = None, full: bool = False) -> DeriveSummary:
    """1. derive the changes and releases, and link the derived changes to the ClickUp tasks they name; 2. give the
    owners of new releases their watch (each release marked as watched in the same transaction) and tell them; 3. link
    recent production alerts to the releases live when they started (incidents); 4. tell on-call of failed production
    deploys; 5. move the rollbacks in flight along their deployments (what a finished one
    means: delivery.flows.rollbacks). The derivation reads what changed since the last one; `full` derives the
    repository's whole history again."""
    now = now or timezone.now()
    repository_change_taken(repository_id=repository_id)
    summary = repository_derive(repository_id=repository_id, now=now, full=full)
    task_links_written(repository_id=repository_id, pull_request_ids=summary.pull_request_ids)
    watches_open(repository_id=repository_id, now=now)
    incidents_followed(repository_id=repository_id, now=now)
    notices.deploy_failures(repository=Repository.objects.get(pk=repository_id), now=now)
    rollbacks_followed(repository_id=repository_id, now=now)
    return summary


def repositories_changed(*, now: datetime | None = None) -> int:
    """Every followed repository, as time alone moves changes (a watch window ends, a change becomes stuck)."""
    written = 0
    for repository_id in Repository.objects.filter(is_active=True, unavailable_reason="").values_list("pk", flat=True):
        written += repository_changed(repository_id=repository_id, now=now).changes_written
    return written
