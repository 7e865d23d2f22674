"""A rollback asked for, tried again, sent to GitHub, and finished: what follows each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from delivery.core.stamps import FIGURES, stamp_move
from delivery.flows import notices, task_notices
from delivery.flows.requests import repository_change_request, rollback_execute_request
from delivery.monitoring.services import watches_end_by_rollback
from delivery.pipeline.models import Release
from delivery.pipeline.services import release_mark_failed, releases_rolled_back, releases_watch_done
from delivery.rollbacks.models import Rollback
from delivery.rollbacks.services import (
    Requested,
    rollback_execute,
    rollback_request,
    rollback_retry,
    rollbacks_follow,
    rollbacks_poll,
)


def rollback_requested(
    *,
    release: Release,
    target: Release,
    user: Any,
    reason: str,
    idempotency_key: str,
    shown_live_id: int | None,
    request: Any = None,
    now: datetime | None = None,
) -> Requested:
    """Someone confirmed a rollback: it is recorded with every release it undoes, each of those is marked failed
    with the reason (in the same transaction), on-call and the owners are told, and GitHub is asked once the
    transaction commits. A double click returns the same rollback and does nothing more."""
    now = now or timezone.now()
    with transaction.atomic():
        requested = rollback_request(
            release=release,
            target=target,
            user=user,
            reason=reason,
            idempotency_key=idempotency_key,
            shown_live_id=shown_live_id,
            request=request,
            now=now,
        )
        if requested.created:
            rollback = requested.rollback
            for undone in rollback.releases_undone.all():
                release_mark_failed(undone, reason=f"Rolled back: {rollback.reason}", now=now)
            notices.rollback(rollback, "rollback_started")
            stamp_move(FIGURES)
            rollback_execute_request(rollback_id=rollback.pk)
    return requested


def rollback_retried(*, rollback: Rollback, user: Any, request: Any = None) -> Rollback:
    """A failed rollback tried again: asked of GitHub again once the transaction commits."""
    with transaction.atomic():
        again = rollback_retry(rollback=rollback, user=user, request=request)
        if again.state == Rollback.State.REQUESTED:
            rollback_execute_request(rollback_id=again.pk)
    return again


def rollback_executed(*, rollback_id: int, client: Any = None, now: datetime | None = None) -> Rollback:
    """The worker asks GitHub to deploy the target (once: the state claims it)."""
    return rollback_execute(rollback_id=rollback_id, on_finished=rollback_finished, client=client, now=now)


def rollbacks_followed(*, repository_id: int, now: datetime | None = None) -> int:
    """Rollbacks in flight move along what the mirror knows of their deployment, or time out."""
    return rollbacks_follow(repository_id=repository_id, on_finished=rollback_finished, now=now)


def rollbacks_polled(*, client: Any = None, now: datetime | None = None) -> int:
    """The fallback when webhooks do not come, and the timeouts."""
    return rollbacks_poll(on_finished=rollback_finished, client=client, now=now)


def rollback_finished(rollback: Rollback) -> None:
    """In the transaction that ends a rollback. Succeeded: what it undid is out of production, and the watches of
    what it undid end "rolled back" (who asked, why); the board moves; the ClickUp tasks of what it undid get the
    reason. Either way everyone is told."""
    if rollback.state == Rollback.State.SUCCEEDED:
        undone = list(rollback.releases_undone.values_list("pk", flat=True))
        releases_rolled_back(release_ids=undone)
        unwatched = watches_end_by_rollback(
            release_ids=undone,
            user=rollback.requested_by,
            reason=f"Rolled back: {rollback.reason}",
            now=rollback.finished_at or timezone.now(),
        )
        for repository_id in releases_watch_done(release_ids=unwatched, now=rollback.finished_at or timezone.now()):
            repository_change_request(repository_id=repository_id)
        notices.rollback(rollback, "rollback_succeeded")
        stamp_move(FIGURES)
        task_notices.rolled_back(rollback)
    else:
        notices.rollback(rollback, "rollback_failed")
