"""Watches of a simulated history (the demo): a first sync finds weeks of releases too old to watch, so the metrics'
watch figures and the weekly reports' watch section would start empty. The demo gives those releases the watches
their owners would have kept, with the times they would have signed off: most within the window's grace, about one
in eight after the overdue reminder, and the releases a rollback took out ended "rolled back". Never for a real
organization: nothing outside the demo calls it."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef

from delivery.monitoring.models import MonitoringSession, WatchedRelease
from delivery.pipeline.models import Release


def _draw(release_id: int, owner_id: int) -> int:
    """A number from 0 to 99 fixed for a release and an owner (the same history gives the same watches)."""
    return (release_id * 7919 + owner_id * 104_729) % 100


@transaction.atomic
def history_watches_replay(*, since: datetime, now: datetime) -> list[int]:
    """Give each production release that went live since `since`, too old for a watch when first derived, its owners'
    signed-off watches. Returns the releases now watched (their changes' verified lead time needs a derivation)."""
    people = Release.owners.through.objects.filter(release_id=OuterRef("pk"), developer__is_bot=False)
    releases = (
        Release.objects.filter(watch_state=Release.Watch.NONE, is_rollback=False, deployed_at__gte=since)
        .filter(Exists(people))
        .exclude(Exists(WatchedRelease.objects.filter(release_id=OuterRef("pk"))))
        .select_related("repository")
        .prefetch_related("owners")
        .order_by("deployed_at", "pk")
    )
    watched: list[int] = []
    for release in releases:
        if release.deployed_at is None:  # not live (never among those too old to watch)
            continue
        repository = release.repository
        window = timedelta(minutes=repository.monitoring_window_minutes)
        grace = timedelta(minutes=repository.monitoring_grace_minutes)
        ends = release.deployed_at + window
        if ends + grace >= now:
            continue
        last = ends
        for owner in release.owners.all():
            if owner.is_bot:
                continue
            draw = _draw(release.pk, owner.pk)
            alerted = None
            if release.state == Release.State.ROLLED_BACK or release.failed:
                decision = MonitoringSession.Decision.ROLLED_BACK
                signed = release.failed_at or release.deployed_at + window / 2
                notes = "Ended by the rollback"
            elif draw < 12:  # forgotten until the reminder
                alerted = ends + grace
                signed = alerted + timedelta(minutes=20 + draw * 5)
                decision, notes = MonitoringSession.Decision.KEEP, "Signed off after the reminder"
            else:
                signed = ends + timedelta(minutes=1 + draw % 15)
                decision, notes = MonitoringSession.Decision.KEEP, "Watched the full window: all good"
            session = MonitoringSession.objects.create(
                release=release,
                owner=owner,
                window_starts_at=release.deployed_at,
                window_ends_at=ends,
                signed_off_at=min(signed, now),
                signed_off_by=owner.user,
                decision=decision,
                notes=notes,
                owner_alerted_at=alerted,
            )
            WatchedRelease.objects.create(session=session, release=release, owner=owner, joined_at=release.deployed_at)
            last = max(last, session.signed_off_at or ends)
        Release.objects.filter(pk=release.pk).update(watch_state=Release.Watch.DONE, watch_ended_at=last)
        watched.append(release.pk)
    return watched
