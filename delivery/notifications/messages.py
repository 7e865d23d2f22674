"""The words of each notice, made from the domain's objects (Slack mrkdwn: names escaped, links as <url|label>,
owners mentioned with `<@U…>` when their Slack member id is known). Callers pass the texts to `notify` with
the same kind and a dedupe key from `dedupe_key`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db.models import Model

from delivery.notifications.service import mention_text, slack_escape
from delivery.pipeline.models import release_tags

if TYPE_CHECKING:
    from delivery.accounts.models import Developer
    from delivery.monitoring.models import MonitoringSession
    from delivery.pipeline.models import Release
    from delivery.rollbacks.models import Rollback


def dedupe_key(kind: str, obj: Model, *qualifiers: object) -> str:
    """`kind:app.model:pk[:qualifier…]`: one notice of a kind per object (and per qualifier, such as the time a
    rollback was requested), however often the code that notices it runs."""
    parts = [kind, obj._meta.label_lower, str(obj.pk), *(str(q) for q in qualifiers)]
    return ":".join(parts)[:200]


def link(url: str | None, label: str) -> str:
    return f"<{url}|{slack_escape(label)}>" if url else ""


def release_label(release: Release) -> str:
    """`acme/api v1.4.2` (or the short sha when the release has no tag)."""
    return slack_escape(f"{release.repository.full_name} {release.tag_name or release.sha[:7]}")


def people(developers: Iterable[Developer]) -> str:
    return ", ".join(mention_text(d) for d in developers) or "nobody known"


def watch_label(session: MonitoringSession) -> str:
    """`acme/api v1.4.2` for a watch of one release; `acme/api v1.4.1 and v1.4.2` for a watch of two."""
    covered = list(session.releases.order_by("deployed_at", "pk")) or [session.release]
    return slack_escape(f"{session.release.repository.full_name} {release_tags(covered)}")


def deploy_succeeded_text(release: Release, owners: Iterable[Developer], monitoring_url: str | None) -> str:
    minutes = release.repository.monitoring_window_minutes
    at = f" since {release.deployed_at:%H:%M} UTC" if release.deployed_at else ""
    text = (
        f":rocket: *{release_label(release)}* is in production ({slack_escape(release.environment)}){at}. "
        f"Owners: {people(owners)} — watch it for {minutes} minutes and sign off."
    )
    return f"{text} {link(monitoring_url, 'The release and its watches')}".rstrip()


def deploy_failed_text(release: Release, owners: Iterable[Developer], url: str | None = None) -> str:
    reason = f": {slack_escape(release.failure_reason)}" if release.failure_reason else ""
    text = f":x: Production deploy of *{release_label(release)}* failed{reason}. Owners: {people(owners)}."
    return f"{text} {link(url, 'Release')}".rstrip()


def monitoring_overdue_owner_text(session: MonitoringSession, url: str | None) -> str:
    text = (
        f":hourglass: {mention_text(session.owner)}, the watch of *{watch_label(session)}* is overdue: "
        f"its window ended at {session.window_ends_at:%H:%M} UTC and it is not signed off."
    )
    return f"{text} {link(url, 'Sign it off')}".rstrip()


def monitoring_overdue_on_call_text(session: MonitoringSession, on_call: Developer | None, url: str | None) -> str:
    to = f"{mention_text(on_call)}: " if on_call is not None else ""
    text = (
        f":rotating_light: {to}the watch of *{watch_label(session)}* by "
        f"{slack_escape(session.owner.login)} is still not signed off (window ended {session.window_ends_at:%H:%M} "
        "UTC). Please check the release."
    )
    return f"{text} {link(url, 'The watch')}".rstrip()


def rollback_started_text(rollback: Rollback, url: str | None = None) -> str:
    return _rollback_text(rollback, ":rewind: Rollback started", url)


def rollback_succeeded_text(rollback: Rollback, url: str | None = None) -> str:
    return _rollback_text(rollback, ":white_check_mark: Rollback succeeded", url)


def rollback_failed_text(rollback: Rollback, url: str | None = None) -> str:
    error = f" Error: {slack_escape(rollback.error)}" if rollback.error else ""
    return _rollback_text(rollback, ":x: Rollback FAILED", url, tail=error)


def _rollback_text(rollback: Rollback, headline: str, url: str | None, *, tail: str = "") -> str:
    by = rollback.requested_by.get_username() if rollback.requested_by else "someone"
    undone = [r.tag_name or r.sha[:7] for r in rollback.releases_undone.all()]
    undoing = f", undoing {slack_escape(', '.join(undone))}" if undone else ""
    text = (
        f"{headline}: *{slack_escape(rollback.repository.full_name)}* back to "
        f"{slack_escape(rollback.target_tag)}{undoing} (by {slack_escape(by)}: {slack_escape(rollback.reason)}).{tail}"
    )
    return f"{text} {link(url, 'Rollback')}".rstrip()
