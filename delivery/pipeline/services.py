"""The pipeline's writes: the derivation of a repository, and what other parts of the product
say about a release (failed, rolled back, being watched, watched). The flows call these; see delivery.flows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from delivery.accounts.audit import audit
from delivery.accounts.models import AuditEvent
from delivery.core.stamps import FIGURES, stamp_move
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


class RecordRefused(Exception):
    """A correction of the record refused, in words for the person who tried it (the page answers 400)."""


@transaction.atomic
def release_fix_link(*, release: Release, fix: Release, user: Any, request: HttpRequest | None = None) -> None:
    """`fix` carries the fix of `release` (a "fix forward"): the fix is an unplanned deployment and `release` a failed
    one, from the moment it went live unless a failure time was recorded. Naming another fix moves the link."""
    if fix.repository_id != release.repository_id or fix.pk == release.pk:
        raise RecordRefused("The fix must be another release of the same repository.")
    if (
        fix.is_rollback
        or fix.deployed_at is None
        or release.deployed_at is None
        or fix.deployed_at <= release.deployed_at
    ):
        raise RecordRefused("The fix must be a later release (not a rollback) of what it repairs.")
    Release.objects.filter(fix_for=release).exclude(pk=fix.pk).update(fix_for=None)
    Release.objects.filter(pk=fix.pk).update(fix_for=release)
    label = fix.tag_name or fix.sha[:7]
    release_mark_failed(release, reason=f"fixed forward by {label}", now=release.deployed_at)
    stamp_move(FIGURES)
    audit(
        request,
        AuditEvent.Verb.RELEASE_FIX_LINKED,
        actor=user,
        repository_id=release.repository_id,
        summary=f"{label} carries the fix of {release.tag_name or release.sha[:7]}",
        target_type="release",
        target_id=str(release.pk),
    )


@transaction.atomic
def release_failure_dismiss(*, release: Release, user: Any, reason: str, request: HttpRequest | None = None) -> bool:
    """An admin says the release's failure was classified by mistake (a wrongly undone release, a false alert): the
    metrics leave it out; the failure itself stays on record. False when it was already dismissed."""
    done = Release.objects.filter(pk=release.pk, failure_dismissed_at__isnull=True).update(
        failure_dismissed_at=timezone.now(), failure_dismissed_by=user, failure_dismissed_reason=reason[:300]
    )
    if done:
        stamp_move(FIGURES)
        audit(
            request,
            AuditEvent.Verb.RELEASE_FAILURE_DISMISSED,
            actor=user,
            repository_id=release.repository_id,
            summary=f"{release.tag_name or release.sha[:7]}: not a failure: {reason}",
            target_type="release",
            target_id=str(release.pk),
        )
    return bool(done)
