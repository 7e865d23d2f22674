"""A repository's mirror changed (a sync, a webhook, time passing): what follows, in order."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from delivery.core.stamps import FIGURES, stamp_move
from delivery.flows import notices
from delivery.flows.incidents import incidents_followed
from delivery.flows.rollbacks import rollbacks_followed
from delivery.flows.task_links import task_links_written
from delivery.flows.watches import watches_open
from delivery.github.events import repository_change_taken
from delivery.github.models import Repository
from delivery.monitoring.history import history_watches_replay
from delivery.pipeline.derive import DeriveSummary
from delivery.pipeline.models import Release
from delivery.pipeline.services import repository_derive


def repository_changed(
    *, repository_id: int, now: datetime | None = None, full: bool = False, by_time: bool = False
) -> DeriveSummary:
    """1. derive the changes and releases, and link the derived changes to the ClickUp tasks they name; 2. give the
    owners of new releases their watch (each release marked as watched in the same transaction) and tell them; 3. link
    recent production alerts to the releases live when they started (incidents); 4. tell on-call of failed production
    deploys; 5. move the rollbacks in flight along their deployments (what a finished one means:
    delivery.flows.rollbacks); 6. the figures' stamp moves (cached figures are computed again), unless only time
    passed (`by_time`) and nothing was written. The derivation reads what changed since the last one; `full` derives
    the repository's whole history again."""
    now = now or timezone.now()
    repository_change_taken(repository_id=repository_id)
    summary = repository_derive(repository_id=repository_id, now=now, full=full)
    task_links_written(repository_id=repository_id, pull_request_ids=summary.pull_request_ids)
    opened = watches_open(repository_id=repository_id, now=now)
    incidents_followed(repository_id=repository_id, now=now)
    notices.deploy_failures(repository=Repository.objects.get(pk=repository_id), now=now)
    followed = rollbacks_followed(repository_id=repository_id, now=now)
    if not by_time or summary.changes_written or summary.releases_written or opened or followed:
        stamp_move(FIGURES)  # (incidents move it themselves: flows.incidents)
    return summary


def repositories_changed(*, now: datetime | None = None) -> int:
    """Every followed repository, as time alone moves changes (a watch window ends, a change becomes stuck)."""
    written = 0
    for repository_id in Repository.objects.filter(is_active=True, unavailable_reason="").values_list("pk", flat=True):
        written += repository_changed(repository_id=repository_id, now=now, by_time=True).changes_written
    return written


def history_watched(*, since: datetime, now: datetime | None = None) -> int:
    """The demo: the simulated history's releases get the watches their owners would have kept, then their
    repositories are derived again (the changes' verified lead time). Returns how many releases were watched."""
    now = now or timezone.now()
    release_ids = history_watches_replay(since=since, now=now)
    repositories = Release.objects.filter(pk__in=release_ids).values_list("repository_id", flat=True).distinct()
    for repository_id in sorted(repositories):
        repository_changed(repository_id=repository_id, now=now, full=True)
    return len(release_ids)
