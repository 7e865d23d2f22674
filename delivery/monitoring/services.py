"""The post-deploy watch: a monitoring session ("watch") per owner for a burst of their releases, its checklist,
its sign-off, and its end when a rollback takes out what it covers.

State machine of a watch: open (window running) → window over (may be signed off "keep") → signed off (keep /
fix forward / roll back), or ended "rolled back". Nothing closes a watch but its owner's sign-off or a successful
rollback of everything it covers: a later release does not (it may join it). The alerts of a watch left open are
in monitoring.alerts; what follows a sign-off (releases failed, the board) is the flows' (delivery.flows.watches)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from delivery.accounts.audit import audit
from delivery.accounts.models import AuditEvent, Developer
from delivery.github.models import Repository
from delivery.monitoring.models import ChecklistItem, Judgement, MonitoringSession, WatchedRelease, WatchVerdict
from delivery.pipeline.models import Release, watch_history_age

logger = logging.getLogger(__name__)
NOTES_MAX = 4000
"""The longest sign-off notes; longer ones are refused in words, not cut."""
ITEM_NOTE_MAX = 2000
"""The longest note on a checklist item."""
TAKES_IN_WINDOWS = 2
"""A watch takes in an owner's next release only while it has run less than this many watch windows since its first
release: its window ends at most this many windows plus one after that release (docs/design.md)."""


class WatchError(Exception):
    """A refused step, in words for the person who tried it (the view answers 400)."""


@dataclass(frozen=True)
class Covered:
    """A release and the owners who got it to watch (in a new watch or one they had open)."""

    release: Release
    owners: list[Developer]


# -- opening -----------------------------------------------------------------------------------------------------
def watches_cover(
    *, repository_id: int, on_covered: Callable[[Release], None], now: datetime | None = None
) -> list[Covered]:
    """Give every owner of every recent successful production release a watch: a new one, or the owner's open watch
    of this repository when the release went live within its window and less than TAKES_IN_WINDOWS windows after
    the watch's first release (one watch covers a burst of releases, and its window then runs to the last one's
    success plus the watch window). Idempotent: the (release, owner)
    constraint makes a second run a no-op. `on_covered(release)` runs in the transaction that covers it (the flow
    marks the release as being watched there). Returns what was covered now, release by release."""
    now = now or timezone.now()
    repository = Repository.objects.get(pk=repository_id)
    releases = list(
        Release.objects.filter(
            repository_id=repository_id,
            environment=repository.production_environment,
            state=Release.State.SUCCEEDED,
            is_rollback=False,
            deployed_at__gte=now - watch_history_age(repository),
        )
        .select_related("repository")
        .prefetch_related("owners")
        .order_by("deployed_at", "pk")
    )
    covered = set(WatchedRelease.objects.filter(release__in=releases).values_list("release_id", "owner_id"))
    made = []
    for release in releases:
        new = []
        for owner in release.owners.all():
            if owner.is_bot or (release.pk, owner.pk) in covered:
                continue
            try:
                with transaction.atomic():
                    _release_cover(release, owner, on_covered)
                new.append(owner)
            except IntegrityError:
                continue  # covered meanwhile by another derivation
        if new:
            made.append(Covered(release, new))
    return made


def _release_cover(release: Release, owner: Developer, on_covered: Callable[[Release], None]) -> MonitoringSession:
    """Put `release` in `owner`'s open watch of its repository when it went live within that watch's window, else in
    a new watch. One owner's watches change one at a time (their row is locked), so two derivations never open two
    watches where one covers both."""
    Developer.objects.select_for_update().filter(pk=owner.pk).first()
    repository = release.repository
    start = release.deployed_at or timezone.now()
    window = timedelta(minutes=repository.monitoring_window_minutes)
    end = start + window
    session = (
        MonitoringSession.objects.select_for_update()
        .filter(
            owner=owner,
            release__repository_id=repository.pk,
            signed_off_at__isnull=True,
            window_ends_at__gt=start,
            window_starts_at__lt=end,
            # A watch takes in releases for TAKES_IN_WINDOWS windows from its first one, then a release opens a new
            # watch: an owner shipping all day still gets watches that end, and their changes reach Done.
            window_starts_at__gt=start - TAKES_IN_WINDOWS * window,
        )
        .select_related("release")
        .order_by("-window_starts_at")
        .first()
    )
    if session is None:
        session = MonitoringSession.objects.create(
            release=release, owner=owner, window_starts_at=start, window_ends_at=end
        )
        template = repository.checklist_template or []
        ChecklistItem.objects.bulk_create(
            ChecklistItem(
                session=session,
                position=i,
                key=str(item.get("key") or f"item-{i}")[:50],
                text=str(item.get("text") or "")[:300],
                requires_full_window=bool(item.get("requires_full_window")),
            )
            for i, item in enumerate(template)
        )
    else:
        newest = session.release.deployed_at is None or start >= session.release.deployed_at
        MonitoringSession.objects.filter(pk=session.pk).update(
            release=release if newest else session.release,
            window_starts_at=min(session.window_starts_at, start),
            window_ends_at=max(session.window_ends_at, end),
        )
    WatchedRelease.objects.create(session=session, release=release, owner=owner, joined_at=start)
    on_covered(release)  # in this transaction: a sign-off waits for it, then sees this release too
    return session


# -- the acceptance criteria -------------------------------------------------------------------------------------
CRITERIA_POSITION = 100
"""Where a watch's acceptance criteria start among its items: after the repository's checklist (at most 20)."""


def criterion_key(task: str, text: str) -> str:
    """One item per task and criterion, whatever order they are added in."""
    return "task-" + hashlib.sha256(f"{task}\n{text}".encode()).hexdigest()[:40]


def watch_criteria_add(*, session_id: int, criteria: list[tuple[str, list[str]]]) -> int:
    """A watch's "Verify in production" items: each task's acceptance criteria (`(task, [criterion, …])`, the task
    as people write it), added once (the (session, key) constraint decides), in the order given, after the items
    already there. A signed-off watch takes none: its checklist is closed. A criterion ClickUp no longer has stays: the
    watch records what was asked when it was checked. Returns how many were added."""
    if not MonitoringSession.objects.filter(pk=session_id, signed_off_at__isnull=True).exists():
        return 0
    existing = set(ChecklistItem.objects.filter(session_id=session_id).values_list("key", flat=True))
    last = ChecklistItem.objects.filter(session_id=session_id).order_by("-position").values_list("position", flat=True)
    position = max(CRITERIA_POSITION, (last.first() or 0) + 1)
    new = []
    for task, texts in criteria:
        for text in texts:
            key = criterion_key(task, text)
            if key in existing:
                continue
            existing.add(key)
            new.append(
                ChecklistItem(session_id=session_id, position=position, key=key, text=text[:300], task=task[:50])
            )
            position += 1
    return len(ChecklistItem.objects.bulk_create(new, ignore_conflicts=True))


# -- the checklist -----------------------------------------------------------------------------------------------
def _own(session: MonitoringSession, user: Any) -> None:
    if not user.has_perm("accounts.sign_off_own_monitoring"):
        raise PermissionError("Your role does not allow signing off watches.")
    if session.owner.user_id != user.pk:
        raise PermissionError(f"This is {session.owner.login}'s session: only they can tick it or sign it off.")


def watch_item_check(*, item: ChecklistItem, user: Any, checked: bool, note: str, now: datetime | None = None) -> None:
    """Tick (or untick) an item and keep its note. The full-window item cannot be ticked before the window ends."""
    now = now or timezone.now()
    session = item.session
    _own(session, user)
    if session.signed_off_at is not None:
        raise WatchError("This watch is signed off; its checklist is closed.")
    if len(note.strip()) > ITEM_NOTE_MAX:
        raise WatchError(f"The note is {len(note.strip()):,} characters long: keep it under {ITEM_NOTE_MAX:,}.")
    if checked and item.requires_full_window and now < session.window_ends_at:
        left = session.window_ends_at - now
        if note.strip() != item.note:  # the note is kept even though the tick must wait
            item.note = note.strip()
            item.save(update_fields=["note"])
        raise WatchError(
            f"“{item.text}” can be ticked when the window ends, in {max(1, round(left.total_seconds() / 60))} min."
        )
    item.checked_at = (item.checked_at or now) if checked else None
    item.checked_by = user if checked else None
    item.note = note.strip()
    item.save(update_fields=["checked_at", "checked_by", "note"])
    audit(
        None,
        AuditEvent.Verb.MONITORING_ITEM_CHECKED,
        actor=user,
        repository=session.release.repository,
        target_type="monitoring_session",
        target_id=str(session.pk),
        summary=f"{'Ticked' if checked else 'Unticked'} “{item.text}”",
    )


@dataclass(frozen=True)
class SignOff:
    session: MonitoringSession
    decision: str
    failed: list[Release]  # the covered releases the decision is about (fix forward, roll back): to mark failed
    reason: str  # why they failed, in words
    watch_ended: list[int] = field(default_factory=list)  # covered releases no open watch covers any more


def watch_sign_off(
    *,
    session: MonitoringSession,
    user: Any,
    decision: str,
    notes: str,
    release_ids: list[int] | None = None,
    now: datetime | None = None,
) -> SignOff:
    """Record the decision for every release the watch covers. "Keep" needs the whole window watched and every
    other item ticked; "fix forward" and "roll back" can be decided at once and fail the covered releases they are
    about (`release_ids`; all of them when None): those count as failed (docs/design.md, Release). One conditional
    UPDATE: a second sign-off changes nothing."""
    now = now or timezone.now()
    _own(session, user)
    if decision not in MonitoringSession.OWNER_DECISIONS:
        raise WatchError("Choose keep, fix forward or roll back.")
    notes = notes.strip()
    if len(notes) > NOTES_MAX:
        raise WatchError(f"The notes are {len(notes):,} characters long: keep them under {NOTES_MAX:,}.")
    covered = list(session.releases.order_by("deployed_at", "pk"))
    about = covered if release_ids is None else [r for r in covered if r.pk in set(release_ids)]
    if decision != MonitoringSession.Decision.KEEP and not about:
        raise WatchError("Choose the releases this decision is about.")
    if decision == MonitoringSession.Decision.KEEP:
        if now < session.window_ends_at:
            raise WatchError("Keep can be decided when the watch window has ended.")
        unticked = [i.text for i in session.items.all() if i.checked_at is None and i.key != "decision"]
        if unticked:
            raise WatchError("Tick every item first: " + "; ".join(unticked) + ".")
    failed: list[Release] = []
    unsigned = MonitoringSession.objects.filter(pk=session.pk, signed_off_at__isnull=True)
    if decision == MonitoringSession.Decision.KEEP:  # a release that joined meanwhile moved the window's end
        unsigned = unsigned.filter(window_ends_at__lte=now)
    with transaction.atomic():
        # The verdict the owner saw: locked, so a read in flight cannot change it under the sign-off (it waits, then
        # finds the watch signed off and writes nothing).
        verdict = WatchVerdict.objects.select_for_update().filter(session=session).first()
        if (
            decision == MonitoringSession.Decision.KEEP
            and verdict
            and verdict.verdict == Judgement.DEGRADED
            and not notes
        ):
            raise WatchError(
                f"Production reads degraded since this release ({verdict.summary}): keeping it needs a reason in the "
                "notes, or roll back."
            )
        done = unsigned.update(
            signed_off_at=now,
            signed_off_by=user,
            decision=decision,
            notes=notes,
            signed_off_verdict=verdict.verdict if verdict else "",
            signed_off_evidence=verdict.evidence if verdict else [],
        )
        if not done:
            if MonitoringSession.objects.filter(pk=session.pk, signed_off_at__isnull=False).exists():
                raise WatchError("This watch was already signed off.")
            raise WatchError("A release joined this watch meanwhile: keep can be decided when its window ends.")
        ChecklistItem.objects.filter(session=session, key="decision", checked_at__isnull=True).update(
            checked_at=now, checked_by=user
        )
        if decision == MonitoringSession.Decision.FIX_FORWARD:
            reason = f"Fix forward ({user.get_username()})"
        else:  # roll back: failed whether or not the rollback then starts
            reason = f"Signed off: roll back ({user.get_username()})"
        if decision != MonitoringSession.Decision.KEEP:
            failed = about
        # Re-read: a release that joined before the sign-off took the row is signed off with the others.
        ended = releases_unwatched(list(session.releases.values_list("pk", flat=True)))
        labels = ", ".join(r.tag_name or r.sha[:7] for r in covered)
        audit(
            None,
            AuditEvent.Verb.MONITORING_SIGNED_OFF,
            actor=user,
            repository=session.release.repository,
            target_type="monitoring_session",
            target_id=str(session.pk),
            summary=f"Signed off the watch of {session.release.repository.full_name} {labels}: "
            f"{MonitoringSession.Decision(decision).label}"
            + (f" (failed: {', '.join(r.tag_name or r.sha[:7] for r in failed)})" if failed else ""),
        )
    session.refresh_from_db()
    return SignOff(session, decision, failed, reason, ended)


def watches_end_by_rollback(*, release_ids: list[int], user: Any, reason: str, now: datetime) -> list[int]:
    """A rollback took these releases out of production: the open watches all of whose releases it took out end
    with "rolled back", signed by who asked for it, with their reason. A watch that still has a live release keeps
    going. Returns the releases no open watch covers any more."""
    undone = set(release_ids)
    ending = []
    candidates = MonitoringSession.objects.filter(signed_off_at__isnull=True, releases__in=undone).values("pk")
    # Locked, so a release cannot join a watch while it is judged all undone.
    for session in MonitoringSession.objects.select_for_update().filter(pk__in=candidates):
        if set(session.releases.values_list("pk", flat=True)) <= undone:
            ending.append(session.pk)
    MonitoringSession.objects.filter(pk__in=ending, signed_off_at__isnull=True).update(
        signed_off_at=now,
        signed_off_by=user,
        decision=MonitoringSession.Decision.ROLLED_BACK,
        notes=reason[:NOTES_MAX],
    )
    _verdicts_keep(ending)
    return releases_unwatched(_covered_by(ending))


def watches_keep_unattended(*, session_ids: list[int], notes: str, now: datetime) -> list[int]:
    """Sign off "keep" for owners who have no account to do it with (the demo's simulated team): their watches end
    as a person's would. Returns the releases no open watch covers any more."""
    MonitoringSession.objects.filter(
        pk__in=session_ids, signed_off_at__isnull=True, owner__user__isnull=True, window_ends_at__lte=now
    ).update(signed_off_at=now, decision=MonitoringSession.Decision.KEEP, notes=notes[:NOTES_MAX])
    _verdicts_keep(session_ids)
    return releases_unwatched(_covered_by(session_ids))


def _verdicts_keep(session_ids: list[int]) -> None:
    """The signed-off watches keep the verdict their signals had then (their reads stop with the sign-off)."""
    for verdict in WatchVerdict.objects.select_for_update().filter(session_id__in=session_ids).exclude(verdict=""):
        MonitoringSession.objects.filter(
            pk=verdict.session_id, signed_off_at__isnull=False, signed_off_verdict=""
        ).update(signed_off_verdict=verdict.verdict, signed_off_evidence=verdict.evidence)


def _covered_by(session_ids: list[int]) -> list[int]:
    return list(WatchedRelease.objects.filter(session_id__in=session_ids).values_list("release_id", flat=True))


def releases_unwatched(release_ids: list[int]) -> list[int]:
    """Of these releases, those no open watch covers: their watch is done."""
    still_open = set(
        WatchedRelease.objects.filter(release_id__in=release_ids, session__signed_off_at__isnull=True).values_list(
            "release_id", flat=True
        )
    )
    return sorted({pk for pk in release_ids if pk not in still_open})
