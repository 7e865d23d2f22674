"""What each figure was computed from: the same rows as the figure (`sources`), listed with links, so every number
can be checked by a person."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from delivery.metrics import sources
from delivery.metrics.scope import Scope, ScopeError

LIMIT = 500
"""Rows listed at most per figure (the count says how many there are)."""


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value)


def _lead_time(scope: Scope) -> tuple[int, list[dict[str, Any]]]:
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
        for c in rows[:LIMIT]
    ]


def _release_row(release: Any) -> dict[str, Any]:
    return {
        "kind": "rollback" if release.is_rollback else "release",
        "title": release.tag_name or release.sha[:7],
        "repository": release.repository.full_name,
        "url": reverse("release", args=[release.pk]),
        "deployed_at": _when(release.deployed_at),
    }


def _deployment_frequency(scope: Scope) -> tuple[int, list[dict[str, Any]]]:
    rows = sources.releases_live(scope).select_related("repository").order_by("-deployed_at")
    return rows.count(), [_release_row(r) for r in rows[:LIMIT]]


def _rework_rate(scope: Scope) -> tuple[int, list[dict[str, Any]]]:
    rows: QuerySet[Any] = sources.releases_live(scope).select_related("repository").order_by("-deployed_at")
    return rows.count(), [
        {**_release_row(r), "unplanned": bool(r.unplanned_why), "why": r.unplanned_why} for r in rows[:LIMIT]
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


def _change_failure_rate(scope: Scope) -> tuple[int, list[dict[str, Any]]]:
    rows = sources.release_attempts(scope).select_related("repository", "release").order_by("-went_live_at")
    return rows.count(), [_attempt_row(d) for d in rows[:LIMIT]]


def _recovery_time(scope: Scope) -> tuple[int, list[dict[str, Any]]]:
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
        for d in rows[:LIMIT]
    ]


def _recovered_by(failure: Any) -> str | None:
    """Where the recovery shows: the release that recovered it, or for an incident that resolved, the incidents of the
    failed release's own page."""
    if failure.incident_at is not None:
        return reverse("release", args=[failure.release.pk]) + "#incidents-title" if failure.recovered_at else None
    return reverse("release", args=[failure.recovery_release_id]) if failure.recovery_release_id else None


def _process(scope: Scope) -> tuple[int, list[dict[str, Any]]]:
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
            "size": c.size,
        }
        for c in rows[:LIMIT]
    ]


FIGURES: dict[str, tuple[str, Callable[[Scope], tuple[int, list[dict[str, Any]]]]]] = {
    "deployment_frequency": ("Production deployments (releases and rollbacks)", _deployment_frequency),
    "lead_time": ("Changes that reached production, longest lead time first", _lead_time),
    "change_failure_rate": ("Production releases, and whether each failed", _change_failure_rate),
    "recovery_time": ("Failed releases and what recovered them", _recovery_time),
    "rework_rate": ("Production deployments, and whether each was unplanned", _rework_rate),
    "process": ("Pull requests merged, with the process checks they failed", _process),
}


def evidence(scope: Scope, figure: str) -> dict[str, Any]:
    """The rows behind one figure of a scope."""
    if figure not in FIGURES:
        raise ScopeError(f"There is no figure {figure[:50]!r}: use one of {', '.join(FIGURES)}.")
    title, rows_of = FIGURES[figure]
    count, rows = rows_of(scope)
    return {
        "figure": figure,
        "title": title,
        "from": scope.date_from.isoformat(),
        "to": scope.date_to.isoformat(),
        "count": count,
        "truncated": count > len(rows),
        "rows": rows,
    }
