"""The notices the flows send, and their words (Slack mrkdwn: every value escaped, links as <url|label>, owners
mentioned with `<@U…>` when their Slack member id is known). Each notice is logged through
`notifications.service.notify` with its kind and a dedupe key from `dedupe_key`, so it is sent once however
often a flow notices it. The words are functions, one line of mrkdwn each: every value passes `slack_escape`
in plain sight."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Model
from django.urls import reverse
from django.utils import timezone

from delivery.accounts.models import Developer
from delivery.accounts.oncall import on_call_now
from delivery.core.links import absolute_url, page_absolute_url
from delivery.github.models import Deployment, Repository
from delivery.monitoring.models import Alert, Incident, MonitoringSession, WatchVerdict
from delivery.notifications.models import Notification
from delivery.notifications.service import (
    AGREEMENT_NUDGE,
    ALERT_FIRING,
    DEPLOY_FAILED,
    DEPLOY_SUCCEEDED,
    INCIDENT_RESOLVED,
    MONITORING_OVERDUE_ON_CALL,
    MONITORING_OVERDUE_OWNER,
    WATCH_DEGRADED_ON_CALL,
    WATCH_DEGRADED_OWNER,
    WEEKLY_REPORT,
    mention_text,
    notify,
    slack_escape,
)
from delivery.pipeline.models import Change, Release, release_tags
from delivery.reports.agreements import Nudge
from delivery.reports.exports import key_value
from delivery.reports.models import WeeklyReport
from delivery.rollbacks.models import Rollback

FAILED_DEPLOY_NEWS = timedelta(hours=1)
"""A failed production deploy is told for this long after it failed (and looked for that far back)."""


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


def deploy_failed_deployment_text(repository: Repository, deployment: Deployment) -> str:
    by = f" (started by {slack_escape(deployment.creator.login)})" if deployment.creator else ""
    return (
        f":x: Production deploy of *{slack_escape(repository.full_name)} "
        f"{slack_escape(deployment.ref or deployment.sha[:7])}* ended in {deployment.state}{by}. "
        "On call: check it, and roll back if production is hurt."
    )


def watch_overdue_owner_text(session: MonitoringSession, url: str | None) -> str:
    text = (
        f":hourglass: {mention_text(session.owner)}, the watch of *{watch_label(session)}* is overdue: "
        f"its window ended at {session.window_ends_at:%H:%M} UTC and it is not signed off."
    )
    return f"{text} {link(url, 'Sign it off')}".rstrip()


def watch_overdue_on_call_text(session: MonitoringSession, on_call: Developer | None, url: str | None) -> str:
    to = f"{mention_text(on_call)}: " if on_call is not None else ""
    text = (
        f":rotating_light: {to}the watch of *{watch_label(session)}* by "
        f"{slack_escape(session.owner.login)} is still not signed off (window ended {session.window_ends_at:%H:%M} "
        "UTC). Please check the release."
    )
    return f"{text} {link(url, 'The watch')}".rstrip()


def alert_fired_text(alert: Alert, incident: Incident, on_call: Developer | None, url: str | None) -> str:
    release = incident.release
    name = alert.name or alert.fingerprint
    said = f": {slack_escape(alert.summary)}" if alert.summary != name else ""
    to_on_call = f"; on call: {mention_text(on_call)}" if on_call is not None else ""
    text = (
        f":rotating_light: Alert *{slack_escape(name)}* is firing in production since {alert.starts_at:%H:%M} UTC, "
        f"while *{release_label(release)}* is live{said}. Owners: {people(release.owners.all())}{to_on_call}. "
        "Check the release, and roll back if production is hurt."
    )
    return f"{text} {link(url, 'The release')}".rstrip()


def incident_resolved_text(incident: Incident, url: str | None) -> str:
    assert incident.resolved_at is not None
    minutes = max(1, round((incident.resolved_at - incident.started_at).total_seconds() / 60))
    text = (
        f":white_check_mark: Incident resolved on *{release_label(incident.release)}*: {slack_escape(incident.title)} "
        f"(firing from {incident.started_at:%H:%M} to {incident.resolved_at:%H:%M} UTC, {minutes} min)."
    )
    return f"{text} {link(url, 'The release')}".rstrip()


def watch_degraded_text(
    session: MonitoringSession, verdict: WatchVerdict, *, to: Developer | None, url: str, rollback_url: str
) -> str:
    """`:chart_with_downwards_trend: <@U…>, production got worse after *acme/api v1.4.2*: Error ratio: 6.1 % since
    14:05, 16 × the 0.4 % before the deploy (…).` then the watch and the rollback."""
    who = f"{mention_text(to)}, " if to is not None else ""
    by = "" if to == session.owner else f" (shipped by {slack_escape(session.owner.login)}, who has not acted yet)"
    return (
        f":chart_with_downwards_trend: {who}production got worse after *{watch_label(session)}*{by}: "
        f"{slack_escape(verdict.summary)}. {link(url, 'The watch')} · {link(rollback_url, 'Roll back…')}"
    )


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


# -- sending -----------------------------------------------------------------------------------------------------
def deploy_succeeded(release: Release, owners: list[Developer]) -> Notification | None:
    """A release went live and these owners got it to watch. News while its watch window runs; after, the watch
    is overdue and its alerts say so."""
    url = page_absolute_url("release", release.pk)
    window = timedelta(minutes=release.repository.monitoring_window_minutes)
    return notify(
        DEPLOY_SUCCEEDED,
        dedupe_key=dedupe_key(DEPLOY_SUCCEEDED, release),
        text=deploy_succeeded_text(release, owners, url),
        repository=release.repository,
        mention=owners,
        link=url,
        event_at=release.deployed_at,
        news_until=release.deployed_at + window if release.deployed_at else None,
    )


def deploy_failures(*, repository: Repository, now: datetime | None = None) -> int:
    """A notice for each production deployment of the repository that failed in the last FAILED_DEPLOY_NEWS (once
    each, by its key). Returns how many were new."""
    now = now or timezone.now()
    failed = Deployment.objects.filter(
        repository=repository,
        environment=repository.production_environment,
        state__in=["failure", "error"],
        state_at__gte=now - FAILED_DEPLOY_NEWS,
    ).select_related("creator")
    keys = {dedupe_key(DEPLOY_FAILED, d): d for d in failed}
    told = set(Notification.objects.filter(dedupe_key__in=list(keys)).values_list("dedupe_key", flat=True))
    sent = 0
    for key, deployment in keys.items():
        if key in told:
            continue  # the unique key would refuse it anyway; this spares the attempt
        made = notify(
            DEPLOY_FAILED,
            dedupe_key=key,
            text=deploy_failed_deployment_text(repository, deployment),
            repository=repository,
            mention=[deployment.creator] if deployment.creator else [],
            link=page_absolute_url("repository", repository.pk),
            event_at=deployment.state_at,
        )
        sent += made is not None
    return sent


def watch_overdue(session: MonitoringSession, *, on_call: Developer | None = None, to_owner: bool) -> None:
    """A watch past its window and grace: its owner is told first, on-call (`on_call`) later."""
    url = page_absolute_url("watch", session.pk)
    kind = MONITORING_OVERDUE_OWNER if to_owner else MONITORING_OVERDUE_ON_CALL
    if to_owner:
        text, mention = watch_overdue_owner_text(session, url), [session.owner]
    else:
        text, mention = watch_overdue_on_call_text(session, on_call, url), [on_call] if on_call else []
    notify(
        kind,
        dedupe_key=dedupe_key(kind, session),
        text=text,
        repository=session.release.repository,
        mention=mention,
        link=url,
    )


def alert_fired(alert: Alert, incident: Incident) -> Notification | None:
    """A production alert fired while `incident.release` was live: its owners and on-call are told, once per alert."""
    release = incident.release
    person = on_call_now()
    on_call = person.developer if person else None
    url = page_absolute_url("release", release.pk)
    return notify(
        ALERT_FIRING,
        dedupe_key=dedupe_key(ALERT_FIRING, alert),
        text=alert_fired_text(alert, incident, on_call, url),
        repository=release.repository,
        mention=[*release.owners.all(), *([on_call] if on_call else [])],
        link=url,
        event_at=alert.starts_at,
    )


def incident_resolved(incident: Incident) -> Notification | None:
    """An incident's last alert resolved: its release's owners are told, once per incident (not one an admin
    dismissed as a false alert: nobody needs to hear it is over)."""
    if incident.dismissed_at is not None:
        return None
    release = incident.release
    url = page_absolute_url("release", release.pk)
    return notify(
        INCIDENT_RESOLVED,
        dedupe_key=dedupe_key(INCIDENT_RESOLVED, incident),
        text=incident_resolved_text(incident, url),
        repository=release.repository,
        mention=list(release.owners.all()),
        link=url,
        event_at=incident.resolved_at,
    )


def watch_degraded(
    session: MonitoringSession, verdict: WatchVerdict, *, to_owner: bool, on_call: Developer | None
) -> None:
    """A watch's signals read degraded: its owner is told at once with the evidence and the rollback, on-call
    (`on_call`) if the owner has not acted within the escalation time. Once each per watch."""
    url = page_absolute_url("watch", session.pk)
    rollback_url = page_absolute_url("rollback-new", session.release_id)
    kind = WATCH_DEGRADED_OWNER if to_owner else WATCH_DEGRADED_ON_CALL
    to = session.owner if to_owner else on_call
    notify(
        kind,
        dedupe_key=dedupe_key(kind, session),
        text=watch_degraded_text(session, verdict, to=to, url=url, rollback_url=rollback_url),
        repository=session.release.repository,
        mention=[to] if to is not None else [],
        link=url,
        event_at=verdict.degraded_since,
    )


ROLLBACK_TEXTS = {
    "rollback_started": lambda r, url: rollback_started_text(r, url),
    "rollback_succeeded": lambda r, url: rollback_succeeded_text(r, url),
    "rollback_failed": lambda r, url: rollback_failed_text(r, url),
}


def rollback(rollback: Rollback, kind: str) -> None:
    """Started / succeeded / failed, mentioning the owners of what it undoes. A retried rollback is told again: its
    request time is part of the key."""
    url = page_absolute_url("rollback", rollback.pk)
    notify(
        kind,
        dedupe_key=dedupe_key(kind, rollback, rollback.requested_at.isoformat()),
        text=ROLLBACK_TEXTS[kind](rollback, url),
        repository=rollback.repository,
        mention=list(Developer.objects.filter(releases__undone_by=rollback).distinct()),
        link=url,
    )


TALKING_POINTS_IN_SLACK = 3
SHORT_KEYS = {
    "deployment_frequency": "deployments",
    "lead_time": "lead time",
    "change_failure_rate": "change failure",
    "recovery_time": "recovery",
    "rework_rate": "rework",
}


def _how_broken(agreement: dict[str, Any]) -> str:
    """ "3 times" for an agreement each row can break; the week's figure for one on a figure ("14 %")."""
    if agreement["per_row"]:
        return f"{agreement['breaks_count']} time{'s' if agreement['breaks_count'] != 1 else ''}"
    return f"was {agreement['value']:g} {agreement['unit']}"


def weekly_report_text(report: WeeklyReport, url: str | None) -> str:
    """`:bar_chart: *Weekly report 2026-W47* (the organization): deployments 4.0 a week (high) · …`, then the top
    talking points and the link."""
    document = report.figures
    team = document.get("team")
    who = f"team {team['name']}" if team else "the organization"
    keys = " · ".join(
        f"{SHORT_KEYS[k['key']]} {key_value(k)}" + (f" ({k['level']})" if k["level"] else "") for k in document["keys"]
    )
    lines = [f":bar_chart: *Weekly report {report.week_label}* ({slack_escape(who)}): {slack_escape(keys)}"]
    broken = [a for a in (document.get("agreements") or {}).get("agreements", []) if a["status"] == "broken"]
    if broken:
        lines.append(
            f"Agreements broken ({len(broken)}): "
            + "; ".join(f"{slack_escape(a['words'])} ({_how_broken(a)})" for a in broken)
        )
    lines += [f"• {slack_escape(p['text'])}" for p in document["talking_points"][:TALKING_POINTS_IN_SLACK]]
    text = "\n".join(lines)
    return f"{text}\n{link(url, 'The report')}".rstrip()


def weekly_report(report: WeeklyReport) -> Notification | None:
    """A week's summary, once per week and team (whatever the version), to the report channel (a team's to its
    own); None when it was told already."""
    path = (
        reverse("team-report", args=[report.week_label, report.team_slug])
        if report.team_slug
        else reverse("report", args=[report.week_label])
    )
    url = absolute_url(path)
    if report.team_slug:
        channel = settings.SLACK_TEAM_REPORT_CHANNELS.get(report.team_slug, "")
    else:
        channel = settings.SLACK_REPORT_CHANNEL
    return notify(
        WEEKLY_REPORT,
        dedupe_key=f"{WEEKLY_REPORT}:{report.week_label}:{report.team_slug or 'organization'}",
        text=weekly_report_text(report, url),
        channel=channel or None,
        link=url,
        event_at=report.period_end,
    )


def agreement_nudge_text(change: Change, nudge: Nudge, url: str) -> str:
    """`:hourglass_flowing_sand: <@U…>, *acme/api#42 Title* is 90 % of the way to an agreement: …` (a nudge)."""
    number = f"#{change.pull_request.number}" if change.pull_request else ""
    name = slack_escape(f"{change.repository.full_name}{number} {change.title}")
    who = mention_text(change.author) if change.author else "Heads up"
    return (
        f":hourglass_flowing_sand: {who}, *{name}* is {nudge.level} % of the way to a working "
        f"agreement: {slack_escape(nudge.words)} ({slack_escape(nudge.text)}). {link(url, 'The change')}"
    )


def agreement_nudge(change: Change, nudge: Nudge) -> Notification | None:
    """Once per change, agreement and level (75 %, 90 %), to its owner directly (their Slack member id), else to the
    repository's channel; None when told already."""
    url = absolute_url(reverse("change", args=[change.pk]))
    return notify(
        AGREEMENT_NUDGE,
        dedupe_key=f"{AGREEMENT_NUDGE}:{nudge.agreement_id}:{change.pk}:{nudge.level}",
        text=agreement_nudge_text(change, nudge, url),
        repository=change.repository,
        mention=[change.author] if change.author else [],
        channel=(change.author.slack_member_id if change.author else "") or None,
        link=url,
    )
