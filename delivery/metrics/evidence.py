"""What each figure was computed from: the same rows as the figure (`sources`), listed with links, so every number
can be checked by a person."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.urls import reverse

from delivery.metrics import sources
from delivery.metrics.scope import Scope, ScopeError
from delivery.pipeline.checks import CHECKS

LIMIT = 500
"""Rows listed at most per page of a figure's evidence (the count says how many there are)."""


def _first(condition: Q) -> Case:
    """An ordering that puts the rows meeting `condition` first (what the figure counts against)."""
    return Case(When(condition, then=Value(0)), default=Value(1), output_field=IntegerField())


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value)


def _lead_time(scope: Scope, window: slice) -> tuple[int, list[dict[str, Any]]]:
    rows: QuerySet[Any] = (  # Any: annotated rows (lead and stage seconds)
        sources.changes_delivered(scope).select_related("repository", "pull_request").order_by("-lead_seconds")
    )
    return rows.count(), [
        {
            "kind": "change",
            "title": c.title,
            "repository": c.repository.full_name,
            "number": c.pull_request.number if c.pull_request else None,
            "url": reverse("change", args=[c.pk]),
            "first_commit_at": _when(c.first_commit_at),
            "production_at": _when(c.production_at),
            "lead_seconds": _seconds(c.lead_seconds),
            "stages": {name: _seconds(getattr(c, f"{name}_seconds")) for name in sources.STAGES},
        }
        for c in rows[window]
    ]


def _release_row(release: Any) -> dict[str, Any]:
    return {
        "kind": "rollback" if release.is_rollback else "release",
        "title": release.tag_name or release.sha[:7],
        "repository": release.repository.full_name,
        "url": reverse("release", args=[release.pk]),
        "deployed_at": _when(release.deployed_at),
    }


def _deployment_frequency(scope: Scope, window: slice) -> tuple[int, list[dict[str, Any]]]:
    rows = sources.releases_live(scope).select_related("repository").order_by("-deployed_at")
    return rows.count(), [_release_row(r) for r in rows[window]]


def _rework_rate(scope: Scope, window: slice) -> tuple[int, list[dict[str, Any]]]:
    rows: QuerySet[Any] = (
        sources.releases_live(scope).select_related("repository").order_by(_first(~Q(unplanned_why="")), "-deployed_at")
    )
    return rows.count(), [
        {**_release_row(r), "unplanned": bool(r.unplanned_why), "why": r.unplanned_why} for r in rows[window]
    ]


def _attempt_row(deployment: Any) -> dict[str, Any]:
    release = getattr(deployment, "release", None)
    return {
        "kind": "release" if release else "failed deployment",
        "title": (release.tag_name or release.sha[:7]) if release else deployment.sha[:7],
        "repository": deployment.repository.full_name,
        "url": reverse("release", args=[release.pk])
        if release
        else reverse("repository", args=[deployment.repository_id]),
        "went_live_at": _when(deployment.went_live_at),
        "failed": bool(deployment.failure_why),
        "why": deployment.failure_why,
        "failed_at": _when(deployment.failure_at),
        "incident_at": _when(deployment.incident_at),
    }


def _change_failure_rate(scope: Scope, window: slice) -> tuple[int, list[dict[str, Any]]]:
    rows = (
        sources.release_attempts(scope)
        .select_related("repository", "release")
        .order_by(_first(sources.FAILED), "-went_live_at")
    )
    return rows.count(), [_attempt_row(d) for d in rows[window]]


def _recovery_time(scope: Scope, window: slice) -> tuple[int, list[dict[str, Any]]]:
    rows: QuerySet[Any] = (
        sources.failures_recovered(scope).select_related("repository", "release").order_by("-failure_at")
    )
    return rows.count(), [
        {
            **_attempt_row(d),
            "recovered_at": _when(d.recovered_at),
            "recovery_seconds": _seconds(d.recovery_seconds),
            "recovered_by": _recovered_by(d),
            "recovered_by_incident": d.incident_at is not None,
            "provisional": d.recovery_watch == "open",
        }
        for d in rows[window]
    ]


def _recovered_by(failure: Any) -> str | None:
    """Where the recovery shows: the release that recovered it, or for an incident that resolved, the incidents of the
    failed release's own page."""
    if failure.incident_at is not None:
        return reverse("release", args=[failure.release.pk]) + "#incidents-title" if failure.recovered_at else None
    return reverse("release", args=[failure.recovery_release_id]) if failure.recovery_release_id else None


def _process(scope: Scope, window: slice) -> tuple[int, list[dict[str, Any]]]:
    rows: QuerySet[Any] = (
        sources.changes_merged(scope).select_related("repository", "pull_request").order_by("-merged_at")
    )
    return rows.count(), [
        {
            "kind": "change",
            "title": c.title,
            "repository": c.repository.full_name,
            "number": c.pull_request.number,
            "url": reverse("change", args=[c.pk]),
            "merged_at": _when(c.merged_at),
            "failed_checks": c.failed_checks,
            "checks_failed": [CHECKS.get(name, name) for name in c.failed_checks],
            "size": c.size,
        }
        for c in rows[window]
    ]


FIGURES: dict[str, tuple[str, Callable[[Scope, slice], tuple[int, list[dict[str, Any]]]]]] = {
    "deployment_frequency": ("Production deployments (releases and rollbacks)", _deployment_frequency),
    "lead_time": ("Changes that reached production, longest lead time first", _lead_time),
    "change_failure_rate": ("Production releases, the failed ones first", _change_failure_rate),
    "recovery_time": ("Failed releases and what recovered them", _recovery_time),
    "rework_rate": ("Production deployments, the unplanned ones first", _rework_rate),
    "process": ("Pull requests merged, with the process checks they failed", _process),
}


def page_number(value: str | None) -> int:
    """A page number from a query parameter (1 when absent), refused in words when it is not one."""
    if not value:
        return 1
    if not value.isdigit() or not 1 <= int(value) <= 100_000:
        raise ScopeError(f"page must be a whole number from 1, not {value[:20]!r}.")
    return int(value)


def evidence(scope: Scope, figure: str, page: int = 1) -> dict[str, Any]:
    """The rows behind one figure of a scope, LIMIT a page (`page` from 1)."""
    if figure not in FIGURES:
        raise ScopeError(f"There is no figure {figure[:50]!r}: use one of {', '.join(FIGURES)}.")
    title, rows_of = FIGURES[figure]
    count, rows = rows_of(scope, slice((page - 1) * LIMIT, page * LIMIT))
    return {
        "figure": figure,
        "title": title,
        "from": scope.date_from.isoformat(),
        "to": scope.date_to.isoformat(),
        "count": count,
        "page": page,
        "pages": max(1, -(-count // LIMIT)),
        "truncated": count > len(rows),
        "rows": rows,
    }
