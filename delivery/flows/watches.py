"""A watch signed off, ended for its owner, or left open: what follows each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from delivery.accounts.models import Developer
from delivery.core.stamps import FIGURES, stamp_move
from delivery.flows import notices, task_notices
from delivery.flows.requests import repository_change_request
from delivery.monitoring.alerts import watches_overdue_alert
from delivery.monitoring.models import MonitoringSession, WatchVerdict
from delivery.monitoring.readings import watches_degraded_escalate, watches_signals_read
from delivery.monitoring.services import (
    SignOff,
    watch_criteria_add,
    watch_sign_off,
    watches_cover,
    watches_keep_unattended,
)
from delivery.pipeline.services import release_mark_failed, release_watch_open, releases_watch_done
from delivery.pipeline.task_links import release_tasks


def watches_open(*, repository_id: int, now: datetime | None = None) -> int:
    """The owners of new production releases get them to watch (a new watch, or the one they have open), each
    release marked as watched in the same transaction, and they are told; so are the ClickUp tasks its changes name
    (a comment: which release, when, by whom, its watches). Returns how many owners got a release."""
    opened = 0
    for covered in watches_cover(repository_id=repository_id, on_covered=release_watch_open, now=now):
        watch_criteria_added(release_ids=[covered.release.pk])
        notices.deploy_succeeded(covered.release, covered.owners)
        task_notices.released(covered.release)
        opened += len(covered.owners)
    return opened


def watch_criteria_added(*, release_ids: list[int]) -> int:
    """The open watches of these releases get the acceptance criteria of the ClickUp tasks their owner's changes name
    ("Verify in production" items beside the repository's checklist); each once. After a watch opens, and after a
    task is read from ClickUp again (its checklist may have grown). Returns how many items were added."""
    added = 0
    sessions = MonitoringSession.objects.filter(signed_off_at__isnull=True, releases__in=release_ids).distinct()
    for session in sessions.only("pk", "owner_id"):
        covered = list(session.releases.values_list("pk", flat=True))
        criteria = [(t.label, t.criteria) for t in release_tasks(release_ids=covered, author_id=session.owner_id)]
        if any(texts for _, texts in criteria):
            added += watch_criteria_add(session_id=session.pk, criteria=criteria)
    return added


def watch_signed_off(
    *,
    session: MonitoringSession,
    user: Any,
    decision: str,
    notes: str,
    release_ids: list[int] | None = None,
    now: datetime | None = None,
) -> SignOff:
    """The owner decided: fix forward and roll back fail the covered releases the decision is about; releases no
    open watch covers any more are watched, and their changes move on the board; "keep" tells the ClickUp tasks of
    the owner's changes they are verified in production (and moves them to the repository's verified status)."""
    now = now or timezone.now()
    with transaction.atomic():
        done = watch_sign_off(
            session=session, user=user, decision=decision, notes=notes, release_ids=release_ids, now=now
        )
        for release in done.failed:
            release_mark_failed(release, reason=done.reason, now=now)
        _watched(done.watch_ended, now=now)
        stamp_move(FIGURES)
        task_notices.verified(done.session)
    return done


def watches_kept_unattended(*, session_ids: list[int], notes: str, now: datetime | None = None) -> None:
    """The demo's simulated team signs off its watches "keep" (their tasks hear it as from a person)."""
    now = now or timezone.now()
    with transaction.atomic():
        _watched(watches_keep_unattended(session_ids=session_ids, notes=notes, now=now), now=now)
        stamp_move(FIGURES)
        for session in MonitoringSession.objects.filter(pk__in=session_ids, signed_off_at=now):
            task_notices.verified(session)


def watches_overdue(*, now: datetime | None = None) -> tuple[int, int]:
    """Beat, every minute: overdue watches alert their owner, then on-call (each alert once, told in its claim)."""
    return watches_overdue_alert(on_alert=_tell_overdue, now=now)


def watch_signals_read(*, now: datetime | None = None) -> int:
    """Beat, every SIGNALS_READ_MINUTES: each open watch's signals are read and judged; a watch turning degraded tells
    its owner at once (evidence, rollback link), and on-call if the owner has not acted MONITORING_ESCALATION_MINUTES
    later (each once, told in its claim). Returns how many watches were read."""
    read = watches_signals_read(on_degraded=_tell_degraded, now=now)
    watches_degraded_escalate(on_escalate=_tell_degraded_on_call, now=now)
    return read


def _tell_degraded(session: MonitoringSession, verdict: WatchVerdict) -> None:
    notices.watch_degraded(session, verdict, to_owner=True, on_call=None)


def _tell_degraded_on_call(session: MonitoringSession, verdict: WatchVerdict, on_call: Developer | None) -> None:
    notices.watch_degraded(session, verdict, to_owner=False, on_call=on_call)


def _tell_overdue(session: MonitoringSession, *, to_owner: bool, on_call: Developer | None) -> None:
    notices.watch_overdue(session, to_owner=to_owner, on_call=on_call)
    stamp_move(FIGURES)  # an alerted watch is no longer signed off in time


def _watched(release_ids: list[int], *, now: datetime) -> None:
    for repository_id in releases_watch_done(release_ids=release_ids, now=now):
        repository_change_request(repository_id=repository_id)
