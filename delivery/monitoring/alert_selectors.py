"""Reads of Alertmanager's alerts and their incidents: what fired during a watch (the watch's verdict calls a watch
with any degraded), what fires now per repository (the on-call page), a release's incidents, and the admins' list."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from delivery.monitoring.alert_models import Alert, AlertDelivery, Incident
from delivery.monitoring.models import MonitoringSession
from delivery.pipeline.models import Release

NOT_DISMISSED = Q(incident__isnull=True) | Q(incident__dismissed_at__isnull=True)
"""An alert of an incident an admin dismissed (a false alert) is not evidence of anything."""


def firing_alerts_between(*, repository_id: int, start: datetime, end: datetime) -> list[Alert]:
    """The repository's production alerts that were firing at some moment from `start` to `end`: started before `end`
    and not resolved before `start`. Alerts of dismissed incidents are left out. Oldest first, with their incident."""
    return list(
        Alert.objects.filter(repository_id=repository_id, production=True, starts_at__lt=end)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=start))
        .filter(NOT_DISMISSED)
        .select_related("incident")
        .order_by("starts_at", "pk")
    )


def firing_alerts(watch: MonitoringSession, *, now: datetime | None = None) -> list[Alert]:
    """The production alerts of the watch's repository firing at some moment of its window so far (from its first
    release's success to its end, or `now` while it runs): any one makes the watch degraded."""
    now = now or timezone.now()
    return firing_alerts_between(
        repository_id=watch.release.repository_id,
        start=watch.window_starts_at,
        end=min(now, watch.window_ends_at),
    )


def alerts_firing_by_repository(repository_ids: Iterable[int]) -> dict[int, list[Alert]]:
    """Production alerts firing now, per repository, oldest first, each with its incident's release (one query)."""
    firing: dict[int, list[Alert]] = defaultdict(list)
    for alert in (
        Alert.objects.filter(repository_id__in=list(repository_ids), production=True, status=Alert.Status.FIRING)
        .filter(NOT_DISMISSED)
        .select_related("incident__release")
        .order_by("starts_at", "pk")
    ):
        assert alert.repository_id is not None
        firing[alert.repository_id].append(alert)
    return firing


def incidents_of_release(*, release: Release) -> list[Incident]:
    """The release's incidents, newest first, each with its alerts (two queries)."""
    return list(
        Incident.objects.filter(release=release)
        .select_related("dismissed_by")
        .prefetch_related("alerts")
        .order_by("-started_at")
    )


def alert_list(*, unmatched: bool = False) -> QuerySet[Alert]:
    """Every alert received, newest first (only those no repository's matchers match, with `unmatched`)."""
    alerts = Alert.objects.select_related("repository", "incident__release").order_by("-starts_at", "-pk")
    return alerts.filter(repository__isnull=True) if unmatched else alerts


def alert_delivery_problems(*, limit: int = 20) -> list[AlertDelivery]:
    """The latest deliveries that were refused or failed, with the reason (the body is not read)."""
    return list(
        AlertDelivery.objects.filter(outcome__in=[AlertDelivery.Outcome.REFUSED, AlertDelivery.Outcome.FAILED])
        .defer("body")
        .order_by("-received_at")[:limit]
    )
