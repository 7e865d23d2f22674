"""Section 4 of a report, what failed: the failed releases (a failed deployment is one too), the rollbacks
(Trunkline's, and the releases that are rollbacks: a GitHub workflow's, or an older version deployed again) and the
fix-forwards (the other releases the rework rate counts as unplanned: named as a fix, or bringing a revert or a
hotfix), each with its reason and the recovery it brought. The rows are the metrics' own (delivery.metrics.sources:
`failures_recovered`, `releases_live` and its `unplanned_why`): nothing is defined again here."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from delivery.core.links import page_url
from delivery.metrics import sources
from delivery.metrics.scope import Scope
from delivery.monitoring.models import MonitoringSession
from delivery.pipeline.models import Change, Release
from delivery.reports.weeks import when
from delivery.rollbacks.models import Rollback

LIMIT = 200
"""Rows kept at most per list (the counts say how many there were)."""
RECOVERY_LOOKBACK = timedelta(weeks=4)
"""A rollback or a fix this week may recover a failure of the weeks before: those are looked for this far back."""


def _label(release: Release) -> str:
    return release.tag_name or release.sha[:7]


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value)


def _failure_row(d: Any, notes: dict[int, list[str]]) -> dict[str, Any]:
    release = getattr(d, "release", None)  # None: a deployment that failed
    return {
        "tag": _label(release) if release else d.sha[:7],
        "repository": d.repository.full_name,
        "url": page_url("release", release.pk) if release else page_url("repository", d.repository_id),
        "why": d.failure_why,
        "notes": notes.get(release.pk, []) if release else [],
        "failed_at": when(d.failure_at),
        "recovered_at": when(d.recovered_at),
        "recovery_seconds": _seconds(d.recovery_seconds),
        "recovered_by": page_url("release", d.recovery_release_id) if d.recovery_release_id else None,
        "provisional": d.recovery_watch == "open",
    }


def _sign_off_notes(release_ids: list[int]) -> dict[int, list[str]]:
    """What the owners wrote when they signed a release off "roll back" or "fix forward"."""
    notes: dict[int, list[str]] = {}
    signed = MonitoringSession.objects.filter(
        releases__in=release_ids,
        decision__in=[MonitoringSession.Decision.FIX_FORWARD, MonitoringSession.Decision.ROLL_BACK],
    ).values_list("releases", "notes", "owner__login")
    for release_id, note, login in signed:
        if note.strip():
            notes.setdefault(release_id, []).append(f"{login}: {note.strip()}")
    return notes


def _recoveries(scope: Scope, release_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The failures (of the scope, up to RECOVERY_LOOKBACK before the period) each of these releases recovered, as
    the recovery time counts them: the failure's first later successful production deployment that did not fail."""
    if not release_ids:
        return {}
    earlier = replace(scope, date_from=scope.date_from - RECOVERY_LOOKBACK)
    found: dict[int, list[dict[str, Any]]] = {}
    recovered: QuerySet[Any] = (
        sources.failures_recovered(earlier)
        .filter(Q(recovery_release_id__in=release_ids))  # a Q: the field is an annotation
        .select_related("repository", "release")
        .order_by("failure_at", "pk")
    )
    for d in recovered:
        found.setdefault(d.recovery_release_id, []).append(_failure_row(d, {}))
    return found


def _rollback_row(r: Rollback) -> dict[str, Any]:
    return {
        "repository": r.repository.full_name,
        "url": page_url("rollback", r.pk),
        "target": r.target_tag,
        "undone": [_label(u) for u in r.releases_undone.all()],
        "state": r.state,
        "reason": r.reason,
        "by": r.requested_by.get_username() if r.requested_by else None,
        "requested_at": when(r.requested_at),
        "via": "trunkline",
        "release_url": None,
        "deployed_at": None,
        "recovered": [],
    }


def _rollback_release_row(release: Release) -> dict[str, Any]:
    """A release that is a rollback with no Trunkline rollback behind it: its deployment says why, when it was asked
    and by whom (a GitHub workflow's, or someone who deployed an older version again)."""
    deployment = release.deployment
    return {
        "repository": release.repository.full_name,
        "url": page_url("release", release.pk),
        "target": _label(release),
        "undone": [],
        "state": "succeeded",
        "reason": deployment.description.strip(),
        "by": deployment.creator.login if deployment.creator else None,
        "requested_at": when(deployment.created_at),
        "via": "deployment",
        "release_url": page_url("release", release.pk),
        "deployed_at": when(release.deployed_at),
        "recovered": [],
    }


def _fix_row(release: Any) -> dict[str, Any]:
    fixed = release.fix_for
    return {
        "tag": _label(release),
        "repository": release.repository.full_name,
        "url": page_url("release", release.pk),
        "fixes": _label(fixed) if fixed else None,
        "fixes_url": page_url("release", fixed.pk) if fixed else None,
        "deployed_at": when(release.deployed_at),
        "why": release.unplanned_why,
        "reason": fixed.failure_reason if fixed else "",
        "changes": [
            {
                "title": c.title,
                "number": c.pull_request.number if c.pull_request else None,
                "branch": c.pull_request.head_ref if c.pull_request else "",
                "author": c.author.login if c.author else None,
                "url": page_url("change", c.pk),
            }
            for c in release.unplanned_changes
        ],
        "recovered": [],
    }


def _trunkline_rollbacks(scope: Scope) -> list[Rollback]:
    rollbacks = Rollback.objects.filter(
        repository_id__in=scope.repository_ids, requested_at__gte=scope.start, requested_at__lt=scope.end
    )
    if scope.team is not None:
        rollbacks = rollbacks.filter(
            Q(releases_undone__owners__teams=scope.team) | Q(requested_by__developer__teams=scope.team)
        ).distinct()
    return list(
        rollbacks.select_related("repository", "requested_by")
        .prefetch_related(Prefetch("releases_undone", queryset=Release.objects.order_by("deployed_at")))
        .order_by("requested_at", "pk")[:LIMIT]
    )


def failed_section(scope: Scope, *, evidence: str) -> dict[str, Any]:
    failures: QuerySet[Any] = (
        sources.failures_recovered(scope).select_related("repository", "release").order_by("failure_at", "pk")
    )
    rows = list(failures[:LIMIT])
    notes = _sign_off_notes([d.release.pk for d in rows if getattr(d, "release", None) is not None])
    failed = [_failure_row(d, notes) for d in rows]

    trunkline = _trunkline_rollbacks(scope)
    # Releases that are rollbacks own no change, so belong to no one: in a team's report, those that recovered one
    # of the team's failures, or that a rollback of the team's became.
    rollback_releases = list(
        sources.releases_live(replace(scope, team=None, developer=None))
        .filter(is_rollback=True)
        .select_related("repository", "deployment", "deployment__creator")
        .order_by("deployed_at", "pk")[:LIMIT]
    )
    fixes: list[Any] = list(
        sources.releases_live(scope)
        .exclude(Q(unplanned_why=""))
        .filter(is_rollback=False)
        .select_related("repository", "fix_for")
        .prefetch_related(
            Prefetch(
                "changes",
                queryset=Change.objects.filter(sources.unplanned_change())
                .select_related("pull_request", "author")
                .order_by("merged_at", "pk"),
                to_attr="unplanned_changes",
            )
        )
        .order_by("deployed_at", "pk")[:LIMIT]
    )
    recoveries = _recoveries(scope, [r.pk for r in rollback_releases] + [f.pk for f in fixes])

    rollback_rows = []
    became = {r.deployment_id: r for r in trunkline if r.deployment_id}
    by_rollback: dict[int, dict[str, Any]] = {}
    for r in trunkline:
        by_rollback[r.pk] = _rollback_row(r)
        rollback_rows.append(by_rollback[r.pk])
    for release in rollback_releases:
        asked = became.get(release.deployment_id)
        if asked is not None:
            row = by_rollback[asked.pk]
            row.update(release_url=page_url("release", release.pk), deployed_at=when(release.deployed_at))
        elif scope.team is None or release.pk in recoveries:
            row = _rollback_release_row(release)
            rollback_rows.append(row)
        else:
            continue
        row["recovered"] = recoveries.get(release.pk, [])
    rollback_rows.sort(key=lambda row: row["requested_at"] or "")

    fix_rows = []
    for release in fixes:
        row = _fix_row(release)
        row["recovered"] = recoveries.get(release.pk, [])
        fix_rows.append(row)
    return {
        "failures": failed,
        "failures_count": failures.count() if len(rows) == LIMIT else len(rows),
        "rollbacks": rollback_rows,
        "fixes": fix_rows,
        "evidence": evidence,
    }
