"""Writing reports: a week's snapshot is stored once; a rebuild that finds the same content keeps the stored one, a
rebuild that differs is the next version (the old one kept). Posting to Slack is claimed once per week and team."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone

from delivery.accounts.audit import audit
from delivery.accounts.models import AuditEvent, Team
from delivery.github.models import Repository
from delivery.metrics.scope import org_zone
from delivery.reports.agreements import scope_words, words
from delivery.reports.models import Agreement, WeeklyReport
from delivery.reports.snapshot import snapshot
from delivery.reports.weeks import IsoWeek


@dataclass(frozen=True)
class Built:
    report: WeeklyReport
    created: bool  # False: the stored latest version already said the same


def report_build(*, week: IsoWeek, team: Team | None = None, attempts: int = 3) -> Built:
    """Store the week's report (the organization's, or the team's) unless its latest version says the same."""
    document = snapshot(week, team=team)
    slug = team.slug if team is not None else ""
    scope_start = datetime.combine(week.monday, time.min, tzinfo=org_zone())
    for _ in range(attempts):
        latest = WeeklyReport.objects.filter(iso_year=week.year, iso_week=week.week, team_slug=slug).order_by(
            "-version"
        )
        stored = latest.first()
        if stored is not None and stored.figures == document:
            return Built(stored, False)
        version = (latest.aggregate(v=Max("version"))["v"] or 0) + 1
        try:
            with transaction.atomic():
                report = WeeklyReport.objects.create(
                    iso_year=week.year,
                    iso_week=week.week,
                    team=team,
                    team_slug=slug,
                    version=version,
                    period_start=scope_start,
                    period_end=scope_start + timedelta(days=7),
                    figures=document,
                )
            return Built(report, True)
        except IntegrityError:
            continue  # another build stored this version meanwhile: compare with it
    raise RuntimeError(f"could not store the report of {week.label} {slug}: versions kept colliding")


def report_mark_posted(*, report: WeeklyReport, now: datetime | None = None) -> bool:
    """Record that the week's summary went to Slack (a conditional UPDATE: the first time only). The notice's own
    dedupe key (one per week and team) is what keeps Slack from hearing it twice."""
    now = now or timezone.now()
    return bool(
        WeeklyReport.objects.filter(pk=report.pk, posted_to_slack_at__isnull=True).update(posted_to_slack_at=now)
    )


def agreement_set(
    *,
    kind: str,
    threshold: float,
    team: Team | None,
    repositories: list[Repository],
    actor: Any,
    request: HttpRequest | None = None,
) -> Agreement:
    """A new working agreement, audited."""
    with transaction.atomic():
        agreement = Agreement.objects.create(kind=kind, threshold=threshold, team=team, created_by=actor)
        agreement.repositories.set(repositories)
        audit(
            request,
            AuditEvent.Verb.AGREEMENT_SET,
            actor=actor,
            target_type="agreement",
            target_id=str(agreement.pk),
            summary=f"{words(kind, threshold)} ({scope_words(team, repositories)})",
            data={"kind": kind, "threshold": threshold, "team": team.slug if team else None},
        )
    return agreement


def agreement_remove(*, agreement: Agreement, actor: Any, request: HttpRequest | None = None) -> None:
    """An agreement no longer kept (past reports keep what they said of it), audited."""
    with transaction.atomic():
        whose = scope_words(agreement.team, agreement.repositories.all())
        summary = f"{words(agreement.kind, agreement.threshold)} ({whose})"
        audit(
            request,
            AuditEvent.Verb.AGREEMENT_REMOVED,
            actor=actor,
            target_type="agreement",
            target_id=str(agreement.pk),
            summary=summary,
        )
        agreement.delete()
