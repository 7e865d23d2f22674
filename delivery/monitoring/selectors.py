"""Reads of the watch: its state now, the watches of a release, its dashboard links filled in with its releases and
window, and what its production signals read."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from delivery.github.models import LINK_PLACEHOLDERS
from delivery.monitoring.models import MonitoringSession, SignalReading, WatchVerdict
from delivery.pipeline.models import Release

logger = logging.getLogger(__name__)
__all__ = ["LINK_PLACEHOLDERS", "watch_dashboard_links", "watch_signals", "watch_state", "watches_of_release"]


def watch_state(session: MonitoringSession, now: datetime) -> str:
    if session.signed_off_at is not None:
        return "signed_off"
    grace = timedelta(minutes=session.release.repository.monitoring_grace_minutes)
    if now >= session.window_ends_at + grace:
        return "overdue"
    if now >= session.window_ends_at:
        return "window_over"
    return "watching"


def watches_of_release(*, release: Release, now: datetime) -> list[MonitoringSession]:
    """The watches that cover `release`, by owner, each with its `state` at `now` (two queries)."""
    sessions = list(
        MonitoringSession.objects.filter(releases=release)
        .select_related("owner", "signed_off_by", "release__repository", "verdict")
        .prefetch_related("releases")
        .order_by("owner__login")
    )
    for session in sessions:
        session.state = watch_state(session, now)
    return sessions


def verdict_of(session: MonitoringSession) -> WatchVerdict | None:
    """The watch's verdict read with it (select_related("verdict")), None before its first read."""
    return getattr(session, "verdict", None)  # a missing one-to-one raises an AttributeError


@dataclass(frozen=True)
class WatchSignals:
    """What the watch's signals read: the verdict (None before the first read), each signal's reading in the
    settings' order, and whether the repository has a source to read at all."""

    session: MonitoringSession
    verdict: WatchVerdict | None
    readings: list[SignalReading]

    @property
    def configured(self) -> bool:
        repository = self.session.release.repository
        return bool(repository.prometheus_url or (repository.sentry_organization and repository.sentry_project))

    @property
    def shown(self) -> str:
        """The verdict kept with the sign-off once there is one, else the latest ("" before the first read)."""
        if self.session.signed_off_at is not None:
            return self.session.signed_off_verdict
        return self.verdict.verdict if self.verdict else ""


def watch_signals(session: MonitoringSession) -> WatchSignals:
    """Two queries, however many signals."""
    readings = list(SignalReading.objects.filter(session=session).order_by("position", "signal"))
    for reading in readings:
        reading.session = session  # the chart places the deploy from it
    return WatchSignals(session, WatchVerdict.objects.filter(session=session).first(), readings)


class _SafeFormat(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def watch_dashboard_links(session: MonitoringSession) -> list[tuple[str, str]]:
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
