"""The weekly report, after time passes: once it is REPORT_WEEKDAY at REPORT_HOUR in TIME_ZONE, the week just ended
is built for the organization and for each team (a stored snapshot each: delivery.reports), then each summary is
told on Slack once (the notice's dedupe key is the week and the team, so a second run, or a rebuild, posts
nothing)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.conf import settings
from django.utils import timezone

from delivery.accounts.models import Team
from delivery.flows import notices
from delivery.metrics.scope import org_zone
from delivery.reports.models import WeeklyReport
from delivery.reports.services import Built, report_build, report_mark_posted
from delivery.reports.weeks import IsoWeek, week_just_ended


def report_due_at(week: IsoWeek) -> datetime:
    """When the report of `week` is due: REPORT_WEEKDAY of the week after, at REPORT_HOUR, in TIME_ZONE."""
    day = week.sunday + timedelta(days=1 + settings.REPORT_WEEKDAY)
    return datetime.combine(day, time(settings.REPORT_HOUR), tzinfo=org_zone())


def weekly_reports_built(*, week: IsoWeek, post: bool = True, team_slug: str | None = None) -> list[Built]:
    """Build the week's reports (the organization's and every team's, or the one asked for) and, with `post`, tell
    each summary on Slack once."""
    teams: list[Team | None] = [None, *Team.objects.order_by("slug")]
    if team_slug is not None:
        teams = [t for t in teams if (t.slug if t else "") == team_slug]
    built = [report_build(week=week, team=team) for team in teams]
    if post:
        for done in built:
            weekly_report_posted(done.report)
    return built


def weekly_report_posted(report: WeeklyReport) -> bool:
    """Tell the report's summary on Slack (once per week and team) and record when. False: told before, or a team
    with no report channel."""
    if report.team_slug and report.team_slug not in settings.SLACK_TEAM_REPORT_CHANNELS:
        return False
    told = notices.weekly_report(report)
    if told is None:
        return False
    return report_mark_posted(report=report)


def weekly_reports_due(*, now: datetime | None = None) -> list[Built]:
    """Beat: the week just ended, once its reports are due, for the organization and the teams that have none yet."""
    now = now or timezone.now()
    week = week_just_ended(now)
    if now < report_due_at(week):
        return []
    done = set(WeeklyReport.objects.filter(iso_year=week.year, iso_week=week.week).values_list("team_slug", flat=True))
    built = []
    for slug in ["", *Team.objects.order_by("slug").values_list("slug", flat=True)]:
        if slug not in done:
            built += weekly_reports_built(week=week, team_slug=slug)
    return built
