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
from delivery.monitoring.models import ChecklistItem, MonitoringSession
from delivery.pipeline.models import Release

logger = logging.getLogger(__name__)
# Sessions are opened for releases whose window (and grace) is still running, or ended within this margin (the
# worker was down a while): not for history read on a first sync.
OPENING_MARGIN = timedelta(hours=1)


class MonitoringError(Exception):
    """A refused step, in words for the person who tried it (the view answers 400)."""


def absolute_url(path: str) -> str:
    return settings.TRUNKLINE_PUBLIC_URL.rstrip("/") + path if settings.TRUNKLINE_PUBLIC_URL else path


# -- opening -----------------------------------------------------------------------------------------------------
def sessions_open(*, repository_id: int, now: datetime | None = None) -> int:
    """Open a session (with the repository's checklist) for every owner of every recent successful production
    release that has none yet. Idempotent: the (release, owner) constraint makes a second run a no-op."""
    now = now or timezone.now()
    repository = Repository.objects.get(pk=repository_id)
    window = timedelta(minutes=repository.monitoring_window_minutes + repository.monitoring_grace_minutes)
    releases = list(
        Release.objects.filter(
            repository_id=repository_id,
            state=Release.State.SUCCEEDED,
            is_rollback=False,
            deployed_at__gte=now - window - OPENING_MARGIN,
        )
        .exclude(owners=None)
        .select_related("repository")
        .prefetch_related("owners", "monitoring_sessions")
    )
    opened = 0
    for release in releases:
        have = {s.owner_id for s in release.monitoring_sessions.all()}
        owners = [o for o in release.owners.all() if o.pk not in have and not o.is_bot]
        new = []
        for owner in owners:
            try:
                with transaction.atomic():
                    new.append(_session_create(release, owner))
            except IntegrityError:
                continue  # opened meanwhile by another derivation
        if new:
            opened += len(new)
            _deploy_succeeded_notify(release, [s.owner for s in new])
    return opened


def _session_create(release: Release, owner: Developer) -> MonitoringSession:
    repository = release.repository
    start = release.deployed_at or timezone.now()
    session = MonitoringSession.objects.create(
        release=release,
        owner=owner,
        window_starts_at=start,
        window_ends_at=start + timedelta(minutes=repository.monitoring_window_minutes),
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
        raise MonitoringError("This session is signed off; its checklist is closed.")
    if checked and item.requires_full_window and now < session.window_ends_at:
        left = session.window_ends_at - now
        if note.strip() != item.note:  # the note is kept even though the tick must wait
            item.note = note.strip()[:2000]
            item.save(update_fields=["note"])
        raise MonitoringError(
            f"“{item.text}” can be ticked when the window ends, in {max(1, round(left.total_seconds() / 60))} min."
        )
    item.checked_at = (item.checked_at or now) if checked else None
    item.checked_by = user if checked else None
    item.note = note.strip()[:2000]
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


def sign_off(
    *, session: MonitoringSession, user: Any, decision: str, notes: str, now: datetime | None = None
) -> SignOff:
    """Record the decision. "Keep" needs the whole window watched and every other item ticked; "fix forward"
    and "roll back" can be decided at once. Fix forward marks the release failed (DESIGN.md's metrics); the
    rollback marks it when it is requested. One conditional UPDATE: a second sign-off changes nothing."""
    now = now or timezone.now()
    _own(session, user)
    if decision not in MonitoringSession.Decision.values:
        raise MonitoringError("Choose keep, fix forward or roll back.")
    if decision == MonitoringSession.Decision.KEEP:
        if now < session.window_ends_at:
            raise MonitoringError("Keep can be decided when the watch window has ended.")
        unticked = [i.text for i in session.items.all() if i.checked_at is None and i.key != "decision"]
        if unticked:
            raise MonitoringError("Tick every item first: " + "; ".join(unticked) + ".")
    with transaction.atomic():
        done = MonitoringSession.objects.filter(pk=session.pk, signed_off_at__isnull=True).update(
            signed_off_at=now, signed_off_by=user, decision=decision, notes=notes.strip()[:4000]
        )
        if not done:
            raise MonitoringError("This session was already signed off.")
        ChecklistItem.objects.filter(session=session, key="decision", checked_at__isnull=True).update(
            checked_at=now, checked_by=user
        )
        if decision == MonitoringSession.Decision.FIX_FORWARD:
            release_mark_failed(session.release, reason=f"Fix forward ({user.get_username()})", now=now)
        elif decision == MonitoringSession.Decision.ROLL_BACK:  # failed whether or not the rollback then starts
            release_mark_failed(session.release, reason=f"Signed off: roll back ({user.get_username()})", now=now)
        audit(
            None,
            AuditEvent.Verb.MONITORING_SIGNED_OFF,
            actor=user,
            repository=session.release.repository,
            target_type="monitoring_session",
            target_id=str(session.pk),
            summary=f"Signed off {session.release}: {MonitoringSession.Decision(decision).label}",
        )
    session.refresh_from_db()
    return SignOff(session, decision)


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
