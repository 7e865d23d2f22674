"""The pipeline's writes: the derivation of a repository, and what other parts of the product
say about a release (failed, rolled back, being watched, watched). The flows call these; see delivery.flows."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from delivery.github.models import Repository
from delivery.pipeline.derive import DeriveSummary, repository_pipeline_derive
from delivery.pipeline.models import Release


def repository_derive(*, repository_id: int, now: datetime | None = None, full: bool = False) -> DeriveSummary:
    """Derive the repository's changes and releases now: what changed since the last derivation, or everything."""
    summary = repository_pipeline_derive(repository_id=repository_id, now=now, full=full)
    Repository.objects.filter(pk=repository_id).update(derived_at=timezone.now())
    return summary


def release_mark_failed(release: Release, *, reason: str, now: datetime) -> None:
    """A failed release for the metrics; the first failure's time and reason are kept."""
    Release.objects.filter(pk=release.pk, failed=False).update(failed=True, failure_reason=reason[:300], failed_at=now)


def releases_rolled_back(*, release_ids: list[int]) -> None:
    """A rollback that undid these releases succeeded: they are out of production."""
    Release.objects.filter(pk__in=release_ids).update(state=Release.State.ROLLED_BACK)


def release_watch_open(release: Release) -> None:
    """Someone watches the release now (the board keeps its changes in production until they are done)."""
    Release.objects.filter(pk=release.pk).update(watch_state=Release.Watch.OPEN, watch_ended_at=None)


def releases_watch_done(*, release_ids: list[int], now: datetime) -> list[int]:
    """No open watch covers these releases any more. Returns the repositories whose board this moves."""
    changed = Release.objects.filter(pk__in=release_ids).filter(~Q(watch_state=Release.Watch.DONE))
    repositories = sorted(set(changed.values_list("repository_id", flat=True)))
    changed.update(watch_state=Release.Watch.DONE, watch_ended_at=now)
    return repositories
