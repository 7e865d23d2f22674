"""One sync per repository at a time, and runs that tell the truth when their worker dies.

A sync holds its repository's lease (claimed with one conditional UPDATE) and keeps it alive while it works:
before GitHub requests and after each page, at most every quarter of the lease, it moves the lease on and stamps
its run's heartbeat. A worker that dies stops doing that: its lease runs out after SYNC_LOCK_MINUTES (3 by
default), so the next sync of the repository may start, and its run, left "running", counts as interrupted from
then on; the next sync of the repository or the periodic sync closes it as such in the database, and the pages
read it so before that."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from delivery.github.models import Repository, SyncRun

logger = logging.getLogger(__name__)

INTERRUPTED_REASON = (
    "interrupted: its worker stopped without finishing (no sign of life for longer than the sync lease); "
    "the next sync resumes from the bookmarks"
)


class SyncAlreadyRunning(Exception):
    """Another process holds this repository's sync lease."""


class SyncLeaseLost(SyncAlreadyRunning):
    """This sync overran its lease and another one took the repository over: it stops."""


def sync_lease() -> timedelta:
    return timedelta(minutes=settings.SYNC_LOCK_MINUTES)


def repository_claim_sync(repository_id: int, *, owner: str = "", now: datetime | None = None) -> bool:
    """Take the repository's sync lease with one conditional UPDATE: 0 rows means a sync is running."""
    now = now or timezone.now()
    return (
        Repository.objects.filter(
            Q(sync_lease_until__isnull=True) | Q(sync_lease_until__lt=now), pk=repository_id
        ).update(sync_lease_until=now + sync_lease(), sync_lease_owner=owner)
        == 1
    )


def repository_release_sync(repository_id: int, *, owner: str = "") -> None:
    """Give the lease back, if it is still ours (a sync that overran it must not free another's)."""
    Repository.objects.filter(pk=repository_id, sync_lease_owner=owner).update(
        sync_lease_until=None, sync_lease_owner=""
    )


class LeaseKeeper:
    """Called often while a sync works (before each GitHub request, after each page); renews the lease and the
    run's heartbeat when a quarter of the lease has passed since the last renewal, so neither a long page nor a
    slow resource outlives it. Raises SyncLeaseLost when the lease is no longer this sync's."""

    def __init__(self, *, repository_id: int, owner: str, run_id: int) -> None:
        self.repository_id = repository_id
        self.owner = owner
        self.run_id = run_id
        self._renewed = time.monotonic()

    def __call__(self) -> None:
        if time.monotonic() - self._renewed >= sync_lease().total_seconds() / 4:
            self.renew()

    def renew(self) -> None:
        now = timezone.now()
        kept = Repository.objects.filter(pk=self.repository_id, sync_lease_owner=self.owner).update(
            sync_lease_until=now + sync_lease()
        )
        if not kept:
            raise SyncLeaseLost(f"repository {self.repository_id}: another sync took over this one's lease")
        SyncRun.objects.filter(pk=self.run_id, status=SyncRun.Status.RUNNING).update(heartbeat_at=now)
        self._renewed = time.monotonic()


def sync_run_alive(now: datetime | None = None) -> Q:
    """Runs that showed a sign of life within the lease (a running run outside it was interrupted)."""
    cutoff = (now or timezone.now()) - sync_lease()
    return Q(heartbeat_at__gte=cutoff) | Q(heartbeat_at__isnull=True, started_at__gte=cutoff)


def sync_runs_interrupted_close(*, repository_id: int | None = None, now: datetime | None = None) -> int:
    """Close as "interrupted" the runs left "running" by a worker that died (one conditional UPDATE: a run that
    finishes meanwhile keeps its own outcome). Returns how many."""
    now = now or timezone.now()
    runs = SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exclude(sync_run_alive(now))
    if repository_id is not None:
        runs = runs.filter(repository_id=repository_id)
    closed = runs.update(status=SyncRun.Status.INTERRUPTED, finished_at=now, error=INTERRUPTED_REASON)
    if closed:
        logger.warning("closed %s sync run(s) whose worker stopped without finishing", closed)
    return closed
