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
    unplanned: int = 0  # deployments that were rollbacks, fixes or reverts (the rework rate's)
    attempts: int = 0  # production releases counted by the change failure rate (succeeded or failed)


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
    """Every day of the period: its production deployments, rollbacks and unplanned deployments; its releases as the
    change failure rate counts them, and how many of those failed."""
    by_day = {scope.date_from + timedelta(days=i): Day(scope.date_from + timedelta(days=i)) for i in range(scope.days)}
    tz = org_zone()
    live = (
        sources.releases_live(scope)
        .annotate(day=TruncDate("deployed_at", tzinfo=tz))
        .values("day")
        .annotate(
            releases=Count("pk", filter=Q(is_rollback=False)),
            rollbacks=Count("pk", filter=Q(is_rollback=True)),
            unplanned=Count("pk", filter=~Q(unplanned_why="")),
        )
    )
    for row in live:
        if found := by_day.get(row["day"]):
            found.releases, found.rollbacks, found.unplanned = row["releases"], row["rollbacks"], row["unplanned"]
    attempts = (
        sources.release_attempts(scope)
        .annotate(day=TruncDate("went_live_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("pk"), failed=Count("pk", filter=sources.FAILED))
    )
    for row in attempts:
        if found := by_day.get(row["day"]):
            found.attempts, found.failed = row["n"], row["failed"]
    return list(by_day.values())


def weeks(scope: Scope, of_days: list[Day] | None = None) -> list[Week]:
    """Every week the period touches (from Monday): change failure rate and rework rate (summed from the period's
    `days`, read again when not given) and the median lead time."""
    first = scope.date_from - timedelta(days=scope.date_from.weekday())
    by_week: dict[date, Week] = {}
    monday = first
    while monday <= scope.date_to:
        by_week[monday] = Week(monday)
        monday += timedelta(days=7)
    for day in days(scope) if of_days is None else of_days:
        week = by_week[day.day - timedelta(days=day.day.weekday())]
        week.deployments += day.releases + day.rollbacks
        week.unplanned += day.unplanned
        week.releases += day.attempts
        week.failed += day.failed
    lead = (
        sources.changes_delivered(scope)
        .annotate(week=TruncWeek("production_at", tzinfo=org_zone()))
        .values("week")
        .annotate(n=Count("pk"), median=Percentile("lead_seconds", 0.5))
        .order_by("week")
    )
    for row in lead:
        if found := by_week.get(_as_date(row["week"])):
            found.changes, found.lead_median = row["n"], row["median"]
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
