"""Reads of the watch: its state now, the watches of a release, and its dashboard links filled in with its releases
and window."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from delivery.github.models import LINK_PLACEHOLDERS
from delivery.monitoring.models import MonitoringSession
from delivery.pipeline.models import Release

logger = logging.getLogger(__name__)
__all__ = ["LINK_PLACEHOLDERS", "watch_dashboard_links", "watch_state", "watches_of_release"]


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
        .select_related("owner", "signed_off_by", "release__repository")
        .prefetch_related("releases")
        .order_by("owner__login")
    )
    for session in sessions:
        session.state = watch_state(session, now)
    return sessions


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
