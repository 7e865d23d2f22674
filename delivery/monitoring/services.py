"""The post-deploy watch: a monitoring session per owner of each production release, its checklist, sign-off,
and the alerts when a session is left open.

State machine of a session: open (window running) → window over (may be signed off "keep") → signed off
(keep / fix forward / roll back). Nothing closes a session but its owner's sign-off: a later release does not.
Overdue (window end + the repository's grace, not signed off): the owner is alerted once; still open
MONITORING_ESCALATION_MINUTES after that, on-call is alerted once. Each alert is claimed with a conditional
UPDATE, so two sweeps never alert twice."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from delivery.accounts.audit import audit
from delivery.accounts.models import AuditEvent, Developer
from delivery.github.models import Repository
from delivery.monitoring.models import ChecklistItem, MonitoringSession, WatchedRelease
from delivery.pipeline.models import Release, watch_history_age
from delivery.pipeline.services import repository_derive_request

logger = logging.getLogger(__name__)
NOTES_MAX = 4000
"""The longest sign-off notes; longer ones are refused in words, not cut."""
ITEM_NOTE_MAX = 2000
"""The longest note on a checklist item."""


class MonitoringError(Exception):
    """A refused step, in words for the person who tried it (the view answers 400)."""


def absolute_url(path: str) -> str:
    return settings.TRUNKLINE_PUBLIC_URL.rstrip("/") + path if settings.TRUNKLINE_PUBLIC_URL else path


# -- opening -----------------------------------------------------------------------------------------------------
def sessions_open(*, repository_id: int, now: datetime | None = None) -> int:
    """Give every owner of every recent successful production release a watch: a new one, or the owner's open watch
    of this repository when the release went live within its window (one watch covers a burst of releases, and
    its window then runs to the last one's success plus the watch window). Idempotent: the (release, owner)
    constraint makes a second run a no-op. Releases say whether they are watched (`Release.watch_state`): the board
    keeps their changes in production until their watch is done. Returns how many owners got a release to watch."""
    now = now or timezone.now()
    repository = Repository.objects.get(pk=repository_id)
    recent_since = now - watch_history_age(repository)
    releases = list(
        Release.objects.filter(
            repository_id=repository_id,
            environment=repository.production_environment,
            state=Release.State.SUCCEEDED,
            is_rollback=False,
            deployed_at__gte=recent_since,
        )
        .select_related("repository")
        .prefetch_related("owners")
        .order_by("deployed_at", "pk")
    )
    covered = set(WatchedRelease.objects.filter(release__in=releases).values_list("release_id", "owner_id"))
    opened = 0
    for release in releases:
        owners = [o for o in release.owners.all() if not o.is_bot and (release.pk, o.pk) not in covered]
        if not owners:
            if not any(not o.is_bot for o in release.owners.all()):
                Release.objects.filter(pk=release.pk, watch_state=Release.Watch.PENDING).update(
                    watch_state=Release.Watch.NONE
                )
            continue
        new = []
        for owner in owners:
            try:
                with transaction.atomic():
                    _release_cover(release, owner)
                new.append(owner)
            except IntegrityError:
                continue  # covered meanwhile by another derivation
        if new:
            opened += len(new)
            _deploy_succeeded_notify(release, new)
    # Releases never watched and too old to be (history from a first sync, rollbacks, ownerless): no watch.
    Release.objects.filter(
        repository_id=repository_id, watch_state=Release.Watch.PENDING, deployed_at__lt=recent_since
    ).update(watch_state=Release.Watch.NONE)
    Release.objects.filter(repository_id=repository_id, watch_state=Release.Watch.PENDING, is_rollback=True).update(
        watch_state=Release.Watch.NONE
    )
    return opened


def _release_cover(release: Release, owner: Developer) -> MonitoringSession:
    """Put `release` in `owner`'s open watch of its repository when it went live within that watch's window, else in
    a new watch. One owner's watches change one at a time (their row is locked), so two derivations never open two
    watches where one covers both."""
    Developer.objects.select_for_update().filter(pk=owner.pk).first()
    repository = release.repository
    start = release.deployed_at or timezone.now()
    end = start + timedelta(minutes=repository.monitoring_window_minutes)
    session = (
        MonitoringSession.objects.select_for_update()
        .filter(
            owner=owner,
            release__repository_id=repository.pk,
            signed_off_at__isnull=True,
            window_ends_at__gt=start,
            window_starts_at__lt=end,
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
    # In the same transaction as the open watch it joined: a sign-off waits for it, then sees this release too.
    Release.objects.filter(pk=release.pk).update(watch_state=Release.Watch.OPEN, watch_ended_at=None)
    return session


def _deploy_succeeded_notify(release: Release, owners: list[Developer]) -> None:
    from delivery.notifications import messages
    from delivery.notifications.service import notify

    link = absolute_url(reverse("release", args=[release.pk]))
    notify(
        "deploy_succeeded",
        dedupe_key=messages.dedupe_key("deploy_succeeded", release),
        text=messages.deploy_succeeded_text(release, owners, link),
        repository=release.repository,
        mention=owners,
        link=link,
        event_at=release.deployed_at,
        # News while its watch window runs; after, the watch is overdue and its alerts say so.
        news_until=release.deployed_at + timedelta(minutes=release.repository.monitoring_window_minutes)
        if release.deployed_at
        else None,
    )


def deploy_failures_notify(*, repository_id: int, now: datetime | None = None) -> int:
    """A Slack notice for each production deployment that failed in the last hour (once each, by its key)."""
    from delivery.github.models import Deployment
    from delivery.notifications.models import Notification
    from delivery.notifications.service import notify, slack_escape

    now = now or timezone.now()
    repository = Repository.objects.get(pk=repository_id)
    failed = Deployment.objects.filter(
        repository=repository,
        environment=repository.production_environment,
        state__in=["failure", "error"],
        state_at__gte=now - timedelta(hours=1),
    ).select_related("creator")
    keys = {f"deploy_failed:gh.deployment:{d.pk}": d for d in failed}
    told = set(Notification.objects.filter(dedupe_key__in=list(keys)).values_list("dedupe_key", flat=True))
    sent = 0
    for key, deployment in keys.items():
        if key in told:
            continue  # the unique key would refuse it anyway; this spares the attempt
        link = absolute_url(reverse("repository", args=[repository.pk]))
        by = f" (started by {slack_escape(deployment.creator.login)})" if deployment.creator else ""
        made = notify(
            "deploy_failed",
            dedupe_key=key,
            text=f":x: Production deploy of *{slack_escape(repository.full_name)} "
            f"{slack_escape(deployment.ref or deployment.sha[:7])}* ended in {deployment.state}{by}. "
            "On call: check it, and roll back if production is hurt.",
            repository=repository,
            mention=[deployment.creator] if deployment.creator else [],
            link=link,
            event_at=deployment.state_at,
        )
        sent += made is not None
    return sent


# -- the checklist -----------------------------------------------------------------------------------------------
def _own(session: MonitoringSession, user: Any) -> None:
    if not user.has_perm("accounts.sign_off_own_monitoring"):
        raise PermissionError("Your role does not allow signing off monitoring sessions.")
    if session.owner.user_id != user.pk:
        raise PermissionError(f"This is {session.owner.login}'s session: only they can tick it or sign it off.")


def item_check(*, item: ChecklistItem, user: Any, checked: bool, note: str, now: datetime | None = None) -> None:
    """Tick (or untick) an item and keep its note. The full-window item cannot be ticked before the window ends."""
    now = now or timezone.now()
    session = item.session
    _own(session, user)
    if session.signed_off_at is not None:
        raise MonitoringError("This watch is signed off; its checklist is closed.")
    if len(note.strip()) > ITEM_NOTE_MAX:
        raise MonitoringError(f"The note is {len(note.strip()):,} characters long: keep it under {ITEM_NOTE_MAX:,}.")
    if checked and item.requires_full_window and now < session.window_ends_at:
        left = session.window_ends_at - now
        if note.strip() != item.note:  # the note is kept even though the tick must wait
            item.note = note.strip()
            item.save(update_fields=["note"])
        raise MonitoringError(
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
    failed: list[Release]  # the covered releases the decision failed (fix forward, roll back)


def sign_off(
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
        raise MonitoringError("Choose keep, fix forward or roll back.")
    notes = notes.strip()
    if len(notes) > NOTES_MAX:
        raise MonitoringError(f"The notes are {len(notes):,} characters long: keep them under {NOTES_MAX:,}.")
    covered = list(session.releases.order_by("deployed_at", "pk"))
    about = covered if release_ids is None else [r for r in covered if r.pk in set(release_ids)]
    if decision != MonitoringSession.Decision.KEEP and not about:
        raise MonitoringError("Choose the releases this decision is about.")
    if decision == MonitoringSession.Decision.KEEP:
        if now < session.window_ends_at:
            raise MonitoringError("Keep can be decided when the watch window has ended.")
        unticked = [i.text for i in session.items.all() if i.checked_at is None and i.key != "decision"]
        if unticked:
            raise MonitoringError("Tick every item first: " + "; ".join(unticked) + ".")
    failed: list[Release] = []
    unsigned = MonitoringSession.objects.filter(pk=session.pk, signed_off_at__isnull=True)
    if decision == MonitoringSession.Decision.KEEP:  # a release that joined meanwhile moved the window's end
        unsigned = unsigned.filter(window_ends_at__lte=now)
    with transaction.atomic():
        done = unsigned.update(signed_off_at=now, signed_off_by=user, decision=decision, notes=notes)
        if not done:
            if MonitoringSession.objects.filter(pk=session.pk, signed_off_at__isnull=False).exists():
                raise MonitoringError("This watch was already signed off.")
            raise MonitoringError("A release joined this watch meanwhile: keep can be decided when its window ends.")
        ChecklistItem.objects.filter(session=session, key="decision", checked_at__isnull=True).update(
            checked_at=now, checked_by=user
        )
        if decision == MonitoringSession.Decision.FIX_FORWARD:
            reason = f"Fix forward ({user.get_username()})"
        else:  # roll back: failed whether or not the rollback then starts
            reason = f"Signed off: roll back ({user.get_username()})"
        if decision != MonitoringSession.Decision.KEEP:
            for release in about:
                release_mark_failed(release, reason=reason, now=now)
            failed = about
        # Re-read: a release that joined before the sign-off took the row is signed off with the others.
        _releases_watch_refresh(list(session.releases.values_list("pk", flat=True)), now=now)
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
    return SignOff(session, decision, failed)


def sessions_end_by_rollback(*, release_ids: list[int], user: Any, reason: str, now: datetime) -> int:
    """A rollback took these releases out of production: the open watches all of whose releases it took out end
    with "rolled back", signed by who asked for it, with their reason. A watch that still has a live release keeps
    going. Returns how many ended."""
    undone = set(release_ids)
    ending = []
    candidates = MonitoringSession.objects.filter(signed_off_at__isnull=True, releases__in=undone).values("pk")
    # Locked, so a release cannot join a watch while it is judged all undone.
    for session in MonitoringSession.objects.select_for_update().filter(pk__in=candidates):
        if set(session.releases.values_list("pk", flat=True)) <= undone:
            ending.append(session.pk)
    ended = MonitoringSession.objects.filter(pk__in=ending, signed_off_at__isnull=True).update(
        signed_off_at=now,
        signed_off_by=user,
        decision=MonitoringSession.Decision.ROLLED_BACK,
        notes=reason[:NOTES_MAX],
    )
    covered = WatchedRelease.objects.filter(session_id__in=ending).values_list("release_id", flat=True)
    _releases_watch_refresh(list(covered), now=now)
    return ended


def sessions_keep_unattended(*, session_ids: list[int], notes: str, now: datetime) -> int:
    """Sign off "keep" for owners who have no account to do it with (the demo's simulated team): their watches end
    as a person's would. Returns how many were signed off."""
    signed = MonitoringSession.objects.filter(
        pk__in=session_ids, signed_off_at__isnull=True, owner__user__isnull=True, window_ends_at__lte=now
    ).update(signed_off_at=now, decision=MonitoringSession.Decision.KEEP, notes=notes[:NOTES_MAX])
    covered = WatchedRelease.objects.filter(session_id__in=session_ids).values_list("release_id", flat=True)
    _releases_watch_refresh(list(covered), now=now)
    return signed


def _releases_watch_refresh(release_ids: list[int], *, now: datetime) -> None:
    """A release is watched until none of its watches is open; then its watch is done (the board moves its changes
    on at the next derivation, which this asks for)."""
    still_open = set(
        WatchedRelease.objects.filter(release_id__in=release_ids, session__signed_off_at__isnull=True).values_list(
            "release_id", flat=True
        )
    )
    done = [pk for pk in release_ids if pk not in still_open]
    if not done:
        return
    Release.objects.filter(pk__in=done).exclude(watch_state=Release.Watch.DONE).update(
        watch_state=Release.Watch.DONE, watch_ended_at=now
    )
    for repository_id in set(Release.objects.filter(pk__in=done).values_list("repository_id", flat=True)):
        repository_derive_request(repository_id=repository_id)


def release_mark_failed(release: Release, *, reason: str, now: datetime) -> None:
    """A failed release for the metrics; the first failure's time and reason are kept."""
    Release.objects.filter(pk=release.pk, failed=False).update(failed=True, failure_reason=reason[:300], failed_at=now)


# -- overdue -----------------------------------------------------------------------------------------------------
def overdue_alert(*, now: datetime | None = None) -> tuple[int, int]:
    """Alert owners of sessions past window end + grace, then on-call for those still open an escalation period
    after the owner's alert. Returns (owner alerts, on-call alerts)."""
    from delivery.accounts.oncall import on_call_now

    now = now or timezone.now()
    open_sessions = MonitoringSession.objects.filter(signed_off_at__isnull=True).select_related(
        "release", "release__repository", "owner"
    )
    owners = on_calls = 0
    for session in open_sessions.filter(owner_alerted_at__isnull=True):
        grace = timedelta(minutes=session.release.repository.monitoring_grace_minutes)
        if now < session.window_ends_at + grace:
            continue
        if MonitoringSession.objects.filter(pk=session.pk, owner_alerted_at__isnull=True).update(owner_alerted_at=now):
            owners += 1
            _overdue_notify(session, "monitoring_overdue_owner", [session.owner])
    escalate = timedelta(minutes=settings.MONITORING_ESCALATION_MINUTES)
    due = open_sessions.filter(
        owner_alerted_at__isnull=False, on_call_alerted_at__isnull=True, owner_alerted_at__lte=now - escalate
    )
    person = None
    for session in due:
        if MonitoringSession.objects.filter(pk=session.pk, on_call_alerted_at__isnull=True).update(
            on_call_alerted_at=now
        ):
            on_calls += 1
            person = person or on_call_now(now)
            _overdue_notify(session, "monitoring_overdue_on_call", [person.developer] if person else [])
    return owners, on_calls


def _overdue_notify(session: MonitoringSession, kind: str, mention: list[Developer]) -> None:
    from delivery.notifications import messages
    from delivery.notifications.service import notify

    link = absolute_url(reverse("monitoring-session", args=[session.pk]))
    logger.info("monitoring session %s overdue (%s)", session.pk, kind)
    if kind == "monitoring_overdue_owner":
        text = messages.monitoring_overdue_owner_text(session, link)
    else:
        text = messages.monitoring_overdue_on_call_text(session, mention[0] if mention else None, link)
    notify(
        kind,
        dedupe_key=messages.dedupe_key(kind, session),
        text=text,
        repository=session.release.repository,
        mention=mention,
        link=link,
    )


# -- reading -----------------------------------------------------------------------------------------------------
def session_state(session: MonitoringSession, now: datetime) -> str:
    if session.signed_off_at is not None:
        return "signed_off"
    grace = timedelta(minutes=session.release.repository.monitoring_grace_minutes)
    if now >= session.window_ends_at + grace:
        return "overdue"
    if now >= session.window_ends_at:
        return "window_over"
    return "watching"


class _SafeFormat(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


LINK_PLACEHOLDERS = ("repository", "sha", "short_sha", "tag", "start", "end", "start_ms", "end_ms")
"""What a dashboard link template may name (the settings form refuses anything else)."""


def dashboard_links(session: MonitoringSession) -> list[tuple[str, str]]:
    """The repository's logs / metrics / errors links, filled in with the release and the window:
    {repository} {sha} {short_sha} {tag} {start} {end} (ISO 8601, UTC) {start_ms} {end_ms} (epoch ms)."""
    release, repository = session.release, session.release.repository
    start, end = session.window_starts_at, session.window_ends_at
    values = _SafeFormat(
        repository=repository.full_name,
        sha=release.sha,
        short_sha=release.sha[:7],
        tag=release.tag_name,
        start=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        end=end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        start_ms=str(int(start.timestamp() * 1000)),
        end_ms=str(int(end.timestamp() * 1000)),
    )
    links = []
    for label, template in (
        ("Logs", repository.logs_url_template),
        ("Metrics", repository.metrics_url_template),
        ("Errors", repository.errors_url_template),
    ):
        if template:
            try:
                links.append((label, template.format_map(values)))
            except (ValueError, KeyError, IndexError, AttributeError):
                logger.warning("%s: the %s link template cannot be filled in: %r", repository, label, template)
    return links
