"""Alerts recorded from Alertmanager's deliveries, and the incidents they make.

An alert is one row per Alertmanager identity (fingerprint, startsAt): inserted once (INSERT … ON CONFLICT DO
NOTHING), resolved once (a conditional UPDATE of a firing row), so a replayed or late "firing" never reopens it. It
belongs to the repository whose label matchers its labels match (the most specific when several do; none: it is kept
as unmatched) and is a production alert when the repository's production matchers match too.

A production alert is an incident of the release that was live in production when it started (the latest release
that went live at or before its startsAt: within the release's watch window, or later until the next production
release). A release's alerts that overlap in time make one incident, from the first one's start until the last one
resolved. Which release was live may be learnt after the alert arrived (GitHub's deployment came later), so
`incidents_follow` links every recent production alert of a repository again whenever its releases or alerts change;
one repository's incidents change one at a time (its row is locked)."""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Min, Q
from django.http import HttpRequest
from django.utils import timezone

from delivery.accounts.audit import audit
from delivery.accounts.models import AuditEvent
from delivery.core.stamps import FIGURES, stamp_move
from delivery.github.label_matchers import LabelMatcherError, Matcher, matchers_match, matchers_parse
from delivery.github.models import Repository
from delivery.monitoring.alert_models import Alert, Incident
from delivery.monitoring.alertmanager import AlertIn, Message
from delivery.pipeline.models import Release

logger = logging.getLogger(__name__)
FIRING, RESOLVED = Alert.Status.FIRING, Alert.Status.RESOLVED
FOLLOW_LOOKBACK = timedelta(days=7)
"""How far back a repository's alerts are linked to releases again (older ones are history and stay as they are)."""
WENT_LIVE = (Release.State.SUCCEEDED, Release.State.ROLLED_BACK)
REASON_MAX = 300


# -- recording ------------------------------------------------------------------------------------------------------
@dataclass
class Recorded:
    alerts: int = 0
    new: int = 0
    resolved: int = 0
    unmatched: int = 0
    repository_ids: set[int] = field(default_factory=set)

    def words(self) -> str:
        return (
            f"{self.alerts} alert{'s' if self.alerts != 1 else ''}: {self.new} new, {self.resolved} resolved, "
            f"{self.unmatched} unmatched"
        )


@dataclass(frozen=True)
class _Owner:
    repository_id: int
    full_name: str
    matchers: list[Matcher]
    production: list[Matcher]


def _owners() -> list[_Owner]:
    """The followed repositories with matchers, most specific first (more matchers), then by name."""
    owners = []
    for pk, full_name, text, production in (
        Repository.objects.filter(is_active=True)
        .exclude(alert_matchers="")
        .values_list("pk", "full_name", "alert_matchers", "alert_production_matchers")
    ):
        try:
            owners.append(_Owner(pk, full_name, matchers_parse(text), matchers_parse(production)))
        except LabelMatcherError as exc:  # the settings form refuses these; a row written otherwise is skipped
            logger.warning("%s: its alert matchers cannot be read (%s); it owns no alert", full_name, exc)
    return sorted(owners, key=lambda o: (-len(o.matchers), o.full_name))


def alert_owner(labels: dict[str, str], owners: list[_Owner]) -> tuple[int | None, bool]:
    """The repository an alert with these labels belongs to, and whether it is a production alert there."""
    for owner in owners:
        if matchers_match(owner.matchers, labels):
            return owner.repository_id, not owner.production or matchers_match(owner.production, labels)
    return None, False


def alerts_record(*, message: Message, delivery_id: int) -> Recorded:
    """Store the message's alerts: new ones inserted with their repository, known ones brought up to date while they
    fire (annotations, the resolution). Returns what changed and the repositories whose incidents to follow."""
    recorded = Recorded(alerts=len(message.alerts))
    if not message.alerts:
        return recorded
    known: dict[tuple[str, datetime], tuple[int | None, bool]] = {
        (fingerprint, starts_at): (repository_id, production)
        for fingerprint, starts_at, repository_id, production in Alert.objects.filter(
            fingerprint__in={a.fingerprint for a in message.alerts}
        ).values_list("fingerprint", "starts_at", "repository_id", "production")
    }
    owners = _owners()
    new: list[Alert] = []
    alerts = sorted(message.alerts, key=lambda a: (a.fingerprint, a.starts_at))  # rows written in one order
    for alert in alerts:
        key = (alert.fingerprint, alert.starts_at)
        if key not in known:
            known[key] = alert_owner(alert.labels, owners)
            new.append(_row(alert, *known[key], delivery_id=delivery_id))
        repository_id, production = known[key]
        if repository_id is None:
            recorded.unmatched += 1
        elif production:
            recorded.repository_ids.add(repository_id)
    # The repositories' rows are locked before any alert row is written, as incidents_follow locks them before it
    # links alerts: whoever writes a repository's alerts holds its lock first, so two deliveries (or a delivery and a
    # derivation) wait for each other instead of deadlocking.
    list(Repository.objects.select_for_update().filter(pk__in=recorded.repository_ids).order_by("pk").values("pk"))
    Alert.objects.bulk_create(new, ignore_conflicts=True)  # a copy processed meanwhile inserted it first: the same row
    recorded.new = len(new)
    fresh = {(a.fingerprint, a.starts_at) for a in new}
    for alert in alerts:
        if alert.status == RESOLVED:
            recorded.resolved += _resolve(alert, delivery_id)
        elif (alert.fingerprint, alert.starts_at) not in fresh:
            Alert.objects.filter(fingerprint=alert.fingerprint, starts_at=alert.starts_at, status=FIRING).update(
                annotations=alert.annotations, generator_url=alert.generator_url, last_delivery_id=delivery_id
            )
    return recorded


def _row(alert: AlertIn, repository_id: int | None, production: bool, *, delivery_id: int) -> Alert:
    return Alert(
        fingerprint=alert.fingerprint,
        starts_at=alert.starts_at,
        ends_at=alert.ends_at,
        status=alert.status,
        name=alert.labels.get("alertname", "")[:200],
        labels=alert.labels,
        annotations=alert.annotations,
        generator_url=alert.generator_url,
        repository_id=repository_id,
        production=production,
        last_delivery_id=delivery_id,
    )


def _resolve(alert: AlertIn, delivery_id: int) -> int:
    """Resolved is final: only a firing row takes it (a replay of the resolution changes nothing)."""
    return Alert.objects.filter(fingerprint=alert.fingerprint, starts_at=alert.starts_at, status=FIRING).update(
        status=RESOLVED,
        ends_at=alert.ends_at,
        annotations=alert.annotations,
        generator_url=alert.generator_url,
        last_delivery_id=delivery_id,
    )


# -- incidents ------------------------------------------------------------------------------------------------------
@dataclass
class Followed:
    linked: list[tuple[Alert, Incident]] = field(default_factory=list)  # alerts that joined an incident now
    resolved: list[Incident] = field(default_factory=list)  # incidents whose last alert resolved now


def incidents_follow(
    *,
    repository_id: int,
    on_fired: Callable[[Alert, Incident], object],
    on_resolved: Callable[[Incident], object],
    now: datetime | None = None,
) -> Followed:
    """Link the repository's recent production alerts to the release live when each started, make or grow their
    incidents, and bring each incident's start and resolution up to date. In the transaction that does it,
    `on_fired(alert, incident)` runs for each firing alert that joined an incident and `on_resolved(incident)` for each
    incident whose last alert resolved (the flow tells people there)."""
    now = now or timezone.now()
    recent = Alert.objects.filter(repository_id=repository_id, production=True, starts_at__gte=now - FOLLOW_LOOKBACK)
    followed = Followed()
    if not recent.exists():
        return followed
    with transaction.atomic():
        repository = Repository.objects.select_for_update().filter(pk=repository_id).first()
        if repository is None:
            return followed
        alerts = list(recent.select_related("incident").order_by("starts_at", "pk"))
        releases = _releases_live(repository, alerts[0].starts_at, alerts[-1].starts_at)
        live_since = [r.deployed_at for r in releases if r.deployed_at is not None]  # all: read so
        open_by_release: dict[int, list[Incident]] = defaultdict(list)
        for incident in Incident.objects.filter(release__in=releases).order_by("started_at"):
            open_by_release[incident.release_id].append(incident)
        touched: set[int] = set()
        for alert in alerts:
            index = bisect_right(live_since, alert.starts_at) - 1
            release = releases[index] if index >= 0 else None
            if alert.incident_id is not None:
                touched.add(alert.incident_id)
                if release is not None and alert.incident is not None and alert.incident.release_id == release.pk:
                    continue
            elif release is None:
                continue
            joined = _incident_for(alert, release, open_by_release) if release is not None else None
            Alert.objects.filter(pk=alert.pk).update(incident=joined)
            if joined is not None:
                touched.add(joined.pk)
                if alert.status == FIRING:
                    followed.linked.append((alert, joined))
        followed.resolved = _incidents_refresh(touched)
        for alert, incident in followed.linked:
            on_fired(alert, incident)
        for incident in followed.resolved:
            on_resolved(incident)
    return followed


def _releases_live(repository: Repository, first: datetime, last: datetime) -> list[Release]:
    """The production releases live at some moment from `first` to `last`, in the order they went live: the one live
    at `first` and every later one up to `last`."""
    went_live = Release.objects.filter(
        repository=repository, environment=repository.production_environment, state__in=WENT_LIVE
    ).exclude(deployed_at=None)
    order = ("deployed_at", "deployment_id")
    before = went_live.filter(deployed_at__lte=first).order_by(*(f"-{o}" for o in order)).first()
    during = list(went_live.filter(deployed_at__gt=first, deployed_at__lte=last).order_by(*order))
    return ([before] if before else []) + during


def _incident_for(alert: Alert, release: Release, incidents: dict[int, list[Incident]]) -> Incident:
    """The release's incident the alert overlaps in time (the latest), or a new one."""
    ends = alert.ends_at if alert.status == RESOLVED else None
    for incident in reversed(incidents[release.pk]):
        if (incident.resolved_at is None or alert.starts_at <= incident.resolved_at) and (
            ends is None or incident.started_at <= ends
        ):
            incident.started_at = min(incident.started_at, alert.starts_at)
            if ends is None:
                incident.resolved_at = None
            elif incident.resolved_at is not None:
                incident.resolved_at = max(incident.resolved_at, ends)
            return incident
    incident = Incident.objects.create(
        release=release, title=incident_title(alert), started_at=alert.starts_at, resolved_at=ends
    )
    incidents[release.pk].append(incident)
    return incident


def incident_title(alert: Alert) -> str:
    name, summary = alert.name, alert.summary
    return (f"{name}: {summary}" if name and summary != name else summary)[:300]


def _incidents_refresh(incident_ids: set[int]) -> list[Incident]:
    """Each incident's start and resolution from its alerts (one aggregate); an incident left without alerts is
    deleted (a dismissed one is kept: the dismissal is on record). Returns those whose last alert resolved now."""
    if not incident_ids:
        return []
    spans = {
        row["incident_id"]: row
        for row in Alert.objects.filter(incident_id__in=incident_ids)
        .values("incident_id")
        .annotate(start=Min("starts_at"), end=Max("ends_at"), firing=Count("pk", filter=Q(status=FIRING)))
    }
    resolved_now = []
    for incident in Incident.objects.filter(pk__in=incident_ids).select_related("release__repository"):
        span = spans.get(incident.pk)
        if span is None:
            if incident.dismissed_at is None:
                incident.delete()
            continue
        resolved_at = None if span["firing"] else span["end"]
        if (incident.started_at, incident.resolved_at) == (span["start"], resolved_at):
            continue
        if incident.resolved_at is None and resolved_at is not None:
            resolved_now.append(incident)
        incident.started_at, incident.resolved_at = span["start"], resolved_at
        incident.save(update_fields=["started_at", "resolved_at"])
    return resolved_now


# -- dismissal ------------------------------------------------------------------------------------------------------
def incident_dismiss(*, incident: Incident, user: Any, reason: str, request: HttpRequest | None = None) -> bool:
    """An admin says the incident was a false alert: the metrics no longer count its release as failed for it (the
    incident stays on record). One conditional UPDATE, audited; False when it was already dismissed."""
    reason = reason.strip()[:REASON_MAX]
    with transaction.atomic():
        done = Incident.objects.filter(pk=incident.pk, dismissed_at__isnull=True).update(
            dismissed_at=timezone.now(), dismissed_by=user, dismissed_reason=reason
        )
        if done:
            stamp_move(FIGURES)
            release = incident.release
            audit(
                request,
                AuditEvent.Verb.RELEASE_FAILURE_DISMISSED,
                actor=user,
                repository_id=release.repository_id,
                summary=f"{release.tag_name or release.sha[:7]}: incident “{incident.title}” not a failure: {reason}",
                target_type="incident",
                target_id=str(incident.pk),
            )
    return bool(done)
