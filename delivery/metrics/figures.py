"""The figures of a scope, computed by the database (aggregates and percentiles over `sources`), in the shape the
API returns. `None` where there is nothing to measure, never 0 for "no data"."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncDate

from delivery.core.sql import Percentile
from delivery.metrics import levels, sources
from delivery.metrics.scope import Scope, is_partial, org_zone


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value)


def deployment_frequency(scope: Scope) -> dict[str, Any]:
    counts = sources.releases_live(scope).aggregate(
        deployments=Count("pk", filter=Q(is_rollback=False)),
        rollbacks=Count("pk", filter=Q(is_rollback=True)),
        days=Count(TruncDate("deployed_at", tzinfo=org_zone()), distinct=True, filter=Q(is_rollback=False)),
    )
    per_week = round(counts["deployments"] / scope.weeks, 2)
    days_per_week = round(counts["days"] / scope.weeks, 2)
    return {
        "deployments": counts["deployments"],
        "rollbacks": counts["rollbacks"],
        "per_week": per_week,
        "deployment_days_per_week": days_per_week,
        "level": levels.level_at_least(days_per_week, "deployment_days_per_week"),
        "score": levels.score_frequency(counts["deployments"] / scope.days),
    }


LEAD_BUCKETS: list[tuple[str, float | None]] = [
    ("under an hour", 3_600.0),
    ("1 hour to 1 day", 86_400.0),
    ("1 day to 1 week", 7 * 86_400.0),
    ("1 week to 1 month", 30 * 86_400.0),
    ("over a month", None),
]


def _band_counts() -> dict[str, Any]:
    """How many changes fall in each band of lead time, as aggregates over `changes_delivered`."""
    counts, low = {}, 0.0
    for i, (_, high) in enumerate(LEAD_BUCKETS):
        band = Q(lead_seconds__gte=low) if high is None else Q(lead_seconds__gte=low, lead_seconds__lt=high)
        if i == 0:
            band = Q(lead_seconds__lt=high)  # the first band takes what is under its top (clock skew included)
        counts[f"band{i}"] = Count("pk", filter=band)
        low = high or low
    return counts


def lead_time(scope: Scope, *, stages_too: bool = True, bands: bool = False) -> dict[str, Any]:
    """The lead time's figures; with `bands`, also how many changes fell in each band (the page's distribution,
    read in the same pass over the rows)."""
    stages = {name: Percentile(f"{name}_seconds", 0.5) for name in sources.STAGES} if stages_too else {}
    if bands:
        stages |= _band_counts()
    found = sources.changes_delivered(scope).aggregate(
        changes=Count("pk"),
        median=Percentile("lead_seconds", 0.5),
        p90=Percentile("lead_seconds", 0.9),
        **stages,
    )
    median = _seconds(found["median"])
    return {
        "changes": found["changes"],
        "median_seconds": median,
        "p90_seconds": _seconds(found["p90"]),
        "level": levels.level_below(median, "lead_time_seconds"),
        "score": levels.score_duration(median),
        "stages": {name: _seconds(found.get(name)) for name in sources.STAGES},
        **({"bands": [(label, found[f"band{i}"]) for i, (label, _) in enumerate(LEAD_BUCKETS)]} if bands else {}),
    }


def change_failure_rate(scope: Scope) -> dict[str, Any]:
    counts = sources.release_attempts(scope).aggregate(releases=Count("pk"), failed=Count("pk", filter=sources.FAILED))
    rate = _ratio(counts["failed"], counts["releases"])
    return {
        "releases": counts["releases"],
        "failed": counts["failed"],
        "rate": rate,
        "level": levels.level_below(rate, "change_failure_rate", inclusive=True),
        "score": levels.score_rate(rate),
    }


def recovery_time(scope: Scope) -> dict[str, Any]:
    found = sources.failures_recovered(scope).aggregate(
        failures=Count("pk"),
        recoveries=Count("pk", filter=Q(recovered_at__isnull=False)),
        provisional=Count("pk", filter=Q(recovery_watch="open")),
        median=Percentile("recovery_seconds", 0.5),
    )
    median = _seconds(found["median"])
    return {
        "recoveries": found["recoveries"],
        "median_seconds": median,
        "level": levels.level_below(median, "recovery_seconds"),
        "score": levels.score_duration(median),
        "unrecovered": found["failures"] - found["recoveries"],
        "provisional": found["provisional"] > 0,
    }


def rework_rate(scope: Scope) -> dict[str, Any]:
    counts = sources.releases_live(scope).aggregate(
        deployments=Count("pk"), unplanned=Count("pk", filter=~Q(unplanned_why=""))
    )
    rate = _ratio(counts["unplanned"], counts["deployments"])
    return {**counts, "rate": rate, "score": levels.score_rate(rate)}


def process(scope: Scope) -> dict[str, Any]:
    merged = sources.changes_merged(scope).aggregate(
        merged_prs=Count("pk"),
        within_age_limit=Count("pk", filter=sources.check_passed("stale")),
        approved=Count("pk", filter=sources.check_passed("review_breach")),
        squash_merged=Count("pk", filter=sources.check_passed("merge_breach")),
        with_preview=Count("pk", filter=sources.check_passed("no_preview")),
        pr_size_median=Percentile("size", 0.5),
    )
    watches = sources.watches_due(scope).aggregate(
        due=Count("pk"), in_time=Count("pk", filter=sources.SIGNED_OFF_IN_TIME)
    )
    n = merged["merged_prs"]
    size = merged["pr_size_median"]
    return {
        "merged_prs": n,
        "within_age_limit": _ratio(merged["within_age_limit"], n),
        "approved": _ratio(merged["approved"], n),
        "squash_merged": _ratio(merged["squash_merged"], n),
        "with_preview": _ratio(merged["with_preview"], n),
        "watches_signed_off_in_time": _ratio(watches["in_time"], watches["due"]),
        "pr_size_median": None if size is None else round(size, 1),
    }


def keys(scope: Scope) -> dict[str, Any]:
    """DORA's five keys alone (what a trend compares): no stages, no process figures."""
    return {
        "deployment_frequency": deployment_frequency(scope),
        "lead_time": lead_time(scope, stages_too=False),
        "change_failure_rate": change_failure_rate(scope),
        "recovery_time": recovery_time(scope),
        "rework_rate": rework_rate(scope),
    }


def metrics(scope: Scope, *, bands: bool = False) -> dict[str, Any]:
    """Every figure of a scope: the API's answer, the command's output and the page's numbers (the page asks for the
    lead time's `bands` too)."""
    return {
        "from": scope.date_from.isoformat(),
        "to": scope.date_to.isoformat(),
        "repositories": [r.full_name for r in scope.repositories],
        "partial": is_partial(scope),
        "deployment_frequency": deployment_frequency(scope),
        "lead_time": lead_time(scope, bands=bands),
        "change_failure_rate": change_failure_rate(scope),
        "recovery_time": recovery_time(scope),
        "rework_rate": rework_rate(scope),
        "process": process(scope),
    }
