"""The figures over time, for the page's charts: per day and per week (weeks start on Monday, in the organization's
time zone), grouped by the database from the same sources as the figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncDate, TruncWeek

from delivery.core.sql import Percentile
from delivery.metrics import sources
from delivery.metrics.scope import Scope, org_zone


@dataclass
class Day:
    day: date
    releases: int = 0
    rollbacks: int = 0
    failed: int = 0


@dataclass
class Week:
    starts: date
    deployments: int = 0
    unplanned: int = 0
    releases: int = 0
    failed: int = 0
    lead_median: float | None = None
    changes: int = 0

    @property
    def failure_rate(self) -> float | None:
        return self.failed / self.releases if self.releases else None

    @property
    def rework_rate(self) -> float | None:
        return self.unplanned / self.deployments if self.deployments else None


def _as_date(value: Any) -> date:
    return value.date() if hasattr(value, "date") and callable(value.date) else value


def days(scope: Scope) -> list[Day]:
    """Every day of the period: its production deployments, rollbacks and failed releases."""
    by_day = {scope.date_from + timedelta(days=i): Day(scope.date_from + timedelta(days=i)) for i in range(scope.days)}
    tz = org_zone()
    live = (
        sources.releases_live(scope)
        .annotate(day=TruncDate("deployed_at", tzinfo=tz))
        .values("day")
        .annotate(releases=Count("pk", filter=Q(is_rollback=False)), rollbacks=Count("pk", filter=Q(is_rollback=True)))
    )
    for row in live:
        if row["day"] in by_day:
            by_day[row["day"]].releases, by_day[row["day"]].rollbacks = row["releases"], row["rollbacks"]
    failed = (
        sources.release_attempts(scope)
        .filter(sources.FAILED)
        .annotate(day=TruncDate("went_live_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("pk"))
    )
    for row in failed:
        if row["day"] in by_day:
            by_day[row["day"]].failed = row["n"]
    return list(by_day.values())


def weeks(scope: Scope) -> list[Week]:
    """Every week the period touches: change failure rate, rework rate and the median lead time."""
    tz = org_zone()
    first = scope.date_from - timedelta(days=scope.date_from.weekday())
    by_week: dict[date, Week] = {}
    monday = first
    while monday <= scope.date_to:
        by_week[monday] = Week(monday)
        monday += timedelta(days=7)

    def rows(queryset: Any, moment: str, **aggregates: Any) -> Any:
        return (
            queryset.annotate(week=TruncWeek(moment, tzinfo=tz)).values("week").annotate(**aggregates).order_by("week")
        )

    for row in rows(
        sources.releases_live(scope), "deployed_at", n=Count("pk"), unplanned=Count("pk", filter=~Q(unplanned_why=""))
    ):
        week = by_week.get(_as_date(row["week"]))
        if week:
            week.deployments, week.unplanned = row["n"], row["unplanned"]
    for row in rows(
        sources.release_attempts(scope), "went_live_at", n=Count("pk"), failed=Count("pk", filter=~Q(failure_why=""))
    ):
        week = by_week.get(_as_date(row["week"]))
        if week:
            week.releases, week.failed = row["n"], row["failed"]
    for row in rows(
        sources.changes_delivered(scope), "production_at", n=Count("pk"), median=Percentile("lead_seconds", 0.5)
    ):
        week = by_week.get(_as_date(row["week"]))
        if week:
            week.changes, week.lead_median = row["n"], row["median"]
    return list(by_week.values())


def reviews_per_reviewer(scope: Scope) -> list[tuple[str, int]]:
    """(login, reviews given) per reviewer, by login: who carries the reviewing (the page shows it to admins only)."""
    rows = (
        sources.reviews_given(scope)
        .values("author__login")
        .annotate(n=Count("pk"))
        .order_by("author__login")
        .values_list("author__login", "n")
    )
    return list(rows)
