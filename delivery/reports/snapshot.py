"""A week's report as one JSON document: everything its page, its exports and its Slack summary show, each row with
the address of its evidence. Computed from the metrics' sources (the same rows the figures count), never defined
again here; once stored it is never recomputed (delivery.reports.services)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.db.models import F, Prefetch, Q, QuerySet
from django.urls import reverse

from delivery.accounts.models import Developer, Team
from delivery.core.links import page_url
from delivery.core.sql import SecondsBetween
from delivery.github.models import Repository
from delivery.metrics import sources
from delivery.metrics.figures import keys, lead_time, metrics
from delivery.metrics.scope import Scope, org_zone
from delivery.pipeline.models import Change, Release, TaskLink
from delivery.reports.agreements import RULES, agreement_scope, change_row, judge, scope_words, words
from delivery.reports.failures import failed_section
from delivery.reports.models import Agreement
from delivery.reports.talking import OVER_A_DAY, signals_line, talking_points
from delivery.reports.tasks import task_row, tasks_section
from delivery.reports.weeks import IsoWeek, when
from delivery.rollbacks.models import Rollback

SCHEMA = 3
"""2: with the working agreements (section 2); 3: with the ClickUp tasks (delivered, verified, changes without one)
and each shipped change's tasks. A report stored before has none and is shown without."""
TREND_WEEKS = 4
LIMIT = 200
"""Rows kept at most per list (the counts say how many there were)."""
OUTLIERS = 5

KEYS: dict[str, tuple[str, str, str]] = {
    # figure: (label, the value shown and compared, its unit)
    "deployment_frequency": ("Deployment frequency", "per_week", "per_week"),
    "lead_time": ("Lead time for changes", "median_seconds", "seconds"),
    "change_failure_rate": ("Change failure rate", "rate", "rate"),
    "recovery_time": ("Failed deployment recovery time", "median_seconds", "seconds"),
    "rework_rate": ("Deployment rework rate", "rate", "rate"),
}
HIGHER_IS_BETTER = {"deployment_frequency"}
BREACHES: dict[str, str] = {
    "stale": "Branch older than its age limit",
    "review_breach": "Merged without the required approvals",
    "merge_breach": "Merged other than by squash",
    "no_preview": "No preview deployment",
}
WAITS: dict[str, str] = {
    "merge_to_staging": "Merge → staging",
    "staging_to_tag": "Staging → tag",
    "tag_to_production": "Tag → production",
}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value)


def evidence_url(scope: Scope, figure: str) -> str:
    params = {"figure": figure, "from": scope.date_from.isoformat(), "to": scope.date_to.isoformat()}
    if scope.team is not None:
        params["team"] = scope.team.slug
    return f"{reverse('metrics-evidence')}?{urlencode(params)}"


def _release_label(release: Release) -> str:
    return release.tag_name or release.sha[:7]


def _keys(scope: Scope, week: IsoWeek) -> dict[str, Any]:
    """The five keys this week, and the same keys over each of the four weeks before (oldest first)."""
    now = metrics(scope)
    before = []
    for n in range(TREND_WEEKS, 0, -1):
        earlier = week.before(n)
        before.append((earlier, keys(replace(scope, date_from=earlier.monday, date_to=earlier.sunday))))
    previous_week = week.before(1)
    previous_lead = lead_time(replace(scope, date_from=previous_week.monday, date_to=previous_week.sunday))
    rows = []
    for figure, (label, value_key, unit) in KEYS.items():
        rows.append(
            {
                "key": figure,
                "label": label,
                "unit": unit,
                "value": now[figure][value_key],
                "level": now[figure].get("level"),
                "score": now[figure].get("score"),
                "higher_is_better": figure in HIGHER_IS_BETTER,
                "trend": [{"week": w.label, "value": k[figure][value_key]} for w, k in before]
                + [{"week": week.label, "value": now[figure][value_key]}],
                "evidence": evidence_url(scope, figure),
            }
        )
    return {"keys": rows, "figures": now, "previous_stages": previous_lead["stages"]}


def _shipped(scope: Scope) -> dict[str, Any]:
    releases = (
        sources.releases_live(scope)
        .filter(is_rollback=False)
        .select_related("repository")
        .prefetch_related(
            Prefetch(
                "changes",
                queryset=Change.objects.select_related("repository", "pull_request", "author")
                .prefetch_related(Prefetch("task_links", queryset=TaskLink.objects.order_by("position")))
                .order_by("merged_at", "pk"),
            ),
            Prefetch("owners", queryset=Developer.objects.order_by("login")),
        )
        .order_by("repository__full_name", "deployed_at", "pk")
    )
    by_repository: dict[str, dict[str, Any]] = {}
    total_changes = 0
    for release in releases:
        repository = by_repository.setdefault(
            release.repository.full_name,
            {
                "name": release.repository.full_name,
                "url": page_url("repository", release.repository_id),
                "releases": [],
            },
        )
        changes = [
            {**change_row(c), "tasks": [task_row(link) for link in c.task_links.all()]} for c in release.changes.all()
        ]
        total_changes += len(changes)
        repository["releases"].append(
            {
                "tag": _release_label(release),
                "url": page_url("release", release.pk),
                "deployed_at": when(release.deployed_at),
                "owners": [o.login for o in release.owners.all()],
                "unplanned": getattr(release, "unplanned_why", ""),
                "failed": release.failed and release.failure_dismissed_at is None,
                "changes": changes,
            }
        )
    return {
        "releases": sum(len(r["releases"]) for r in by_repository.values()),
        "changes": total_changes,
        "repositories": list(by_repository.values()),
        "evidence": evidence_url(scope, "deployment_frequency"),
    }


def _watch(scope: Scope) -> dict[str, Any]:
    watches: QuerySet[Any] = sources.watches_due(scope).select_related("owner", "release", "release__repository")
    rows = list(watches.order_by("window_ends_at", "pk"))
    overdue = [
        {
            "repository": w.release.repository.full_name,
            "tag": _release_label(w.release),
            "owner": w.owner.login,
            "url": page_url("watch", w.pk),
            "window_ends_at": when(w.window_ends_at),
            "signed_off_at": when(w.signed_off_at),
            "decision": w.decision,
        }
        for w in rows
        if not w.in_time
    ]
    return {
        "due": len(rows),
        "in_time": sum(1 for w in rows if w.in_time),
        "overdue": overdue[:LIMIT],
        "evidence": evidence_url(scope, "process"),
        "signals": _watch_signals(scope),
    }


def _watch_signals(scope: Scope) -> dict[str, Any]:
    """The releases whose watch ever read production degraded (recovered since, or not), by signal (the evidence of
    its first degraded read, and of its last), and how soon after it those rolled back were (from the first degraded
    reading to the rollback's request)."""
    watches = list(
        sources.watches_degraded(scope)
        .select_related("owner", "release", "release__repository", "verdict")
        .order_by("window_starts_at", "pk")[:LIMIT]
    )
    rolled: dict[int, datetime] = {}
    undone = Rollback.releases_undone.through.objects.filter(release_id__in=[w.release_id for w in watches]).exclude(
        rollback__state=Rollback.State.FAILED
    )
    for release_id, requested_at in undone.values_list("release_id", "rollback__requested_at"):
        rolled[release_id] = min(requested_at, rolled.get(release_id, requested_at))
    by_signal: dict[str, set[int]] = {}
    rows, reactions = [], {}
    for w in watches:
        verdict = getattr(w, "verdict", None)
        evidence = w.signed_off_evidence if w.signed_off_at else (verdict.evidence if verdict else [])
        then = verdict.degraded_evidence if verdict else []  # kept from its first degraded read, when it was
        signals = list(
            dict.fromkeys(str(e.get("signal")) for e in [*then, *evidence] if e.get("judgement") == "degraded")
        )
        for signal in signals:
            by_signal.setdefault(signal, set()).add(w.release_id)
        since = (verdict.first_degraded_at or verdict.degraded_since) if verdict else None
        rolled_at = rolled.get(w.release_id)
        seconds = max((rolled_at - since).total_seconds(), 0) if rolled_at and since else None
        if rolled_at is not None:
            reactions[w.release_id] = seconds
        rows.append(
            {
                "repository": w.release.repository.full_name,
                "tag": _release_label(w.release),
                "owner": w.owner.login,
                "url": page_url("watch", w.pk),
                "signals": signals,
                "degraded_since": when(since),
                "rolled_back_after_seconds": _round(seconds),
            }
        )
    known = [s for s in reactions.values() if s is not None]
    signals_found = {
        "releases": len({w.release_id for w in watches}),
        "by_signal": [
            {"signal": signal, "releases": len(ids)}
            for signal, ids in sorted(by_signal.items(), key=lambda item: (-len(item[1]), item[0]))
        ],
        "rolled_back": len(reactions),
        "rolled_back_within_seconds": _round(max(known)) if known else None,
        "rows": rows,
    }
    return {**signals_found, "words": signals_line(signals_found)}


def _breaches(scope: Scope) -> dict[str, Any]:
    failing = Q()
    for name in BREACHES:
        failing |= ~sources.check_passed(name)
    changes: QuerySet[Any] = (
        sources.changes_merged(scope)
        .filter(failing)
        .select_related("repository", "pull_request", "author")
        .order_by("merged_at", "pk")
    )
    lists: dict[str, list[dict[str, Any]]] = {name: [] for name in BREACHES}
    for change in changes:
        for name in BREACHES:
            if name in (change.failed_checks or []):
                lists[name].append({**change_row(change), "merged_at": when(change.merged_at)})
    return {
        "checks": [
            {"check": name, "label": label, "count": len(lists[name]), "rows": lists[name][:LIMIT]}
            for name, label in BREACHES.items()
        ],
        "evidence": evidence_url(scope, "process"),
    }


def _outliers(scope: Scope) -> dict[str, Any]:
    delivered: QuerySet[Any] = sources.changes_delivered(scope).select_related("repository", "pull_request", "author")

    def top(field: str, queryset: QuerySet[Any] = delivered) -> list[dict[str, Any]]:
        found = queryset.filter(**{f"{field}__isnull": False}).order_by(f"-{field}", "pk")[:OUTLIERS]
        return [{**change_row(c), "seconds": _round(getattr(c, field))} for c in found]

    lived: QuerySet[Any] = (
        sources.changes_merged(scope)
        .filter(first_commit_at__isnull=False)
        .annotate(lived_seconds=SecondsBetween("merged_at", "first_commit_at"))
        .select_related("repository", "pull_request", "author")
    )
    waits = []
    for stage, label in WAITS.items():
        for row in top(f"{stage}_seconds"):
            waits.append({**row, "stage": label})
    waits.sort(key=lambda r: -(r["seconds"] or 0))
    return {
        "longest_lived": top("lived_seconds", lived),
        "slowest_pickups": top("pickup_seconds"),
        "slowest_reviews": top("review_seconds"),
        "longest_waits": waits[:OUTLIERS],
        "longest_lead": top("lead_seconds"),
        "evidence": evidence_url(scope, "lead_time"),
        "pickups_over_a_day": delivered.filter(pickup_seconds__gt=OVER_A_DAY).count(),
    }


def _agreements(week: IsoWeek, team: Team | None) -> dict[str, Any]:
    """Each working agreement judged over the week: the team's own in a team's report, every one in the
    organization's (each in its own scope)."""
    agreements = Agreement.objects.select_related("team").prefetch_related(
        Prefetch("repositories", queryset=Repository.objects.order_by("full_name"))
    )
    if team is not None:
        agreements = agreements.filter(team=team)
    rows = []
    for agreement in agreements.order_by(F("team__slug").asc(nulls_first=True), "kind", "pk"):
        repositories = list(agreement.repositories.all())
        scope = agreement_scope(week.monday, week.sunday, team=agreement.team, repositories=repositories)
        verdict = judge(agreement.kind, agreement.threshold, scope).as_dict()
        del verdict["week"]
        rows.append(
            {
                "id": agreement.pk,
                "kind": agreement.kind,
                "threshold": agreement.threshold,
                "unit": RULES[agreement.kind].unit,
                "per_row": RULES[agreement.kind].per_row,
                "words": words(agreement.kind, agreement.threshold),
                "scope": scope_words(agreement.team, repositories),
                **verdict,
            }
        )
    return {
        "agreements": rows,
        "kept": sum(1 for r in rows if r["status"] == "kept"),
        "broken": sum(1 for r in rows if r["status"] == "broken"),
        "url": reverse("agreements"),
    }


def snapshot(week: IsoWeek, *, team: Team | None = None) -> dict[str, Any]:
    """The report of a week (the organization's, or one team's work) as it stands now."""
    scope = week.scope(team=team)
    found = _keys(scope, week)
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "week": week.label,
        "from": scope.date_from.isoformat(),
        "to": scope.date_to.isoformat(),
        "time_zone": str(org_zone()),
        "team": None if team is None else {"slug": team.slug, "name": team.name},
        "repositories": [r.full_name for r in scope.repositories],
        "partial": found["figures"]["partial"],
        "keys": found["keys"],
        "figures": found["figures"],
        "agreements": _agreements(week, team),
        "previous_stages": found["previous_stages"],
        "shipped": _shipped(scope),
        "failed": failed_section(scope, evidence=evidence_url(scope, "recovery_time")),
        "watch": _watch(scope),
        "breaches": _breaches(scope),
        "outliers": _outliers(scope),
        "tasks": tasks_section(scope),
    }
    document["talking_points"] = talking_points(document)
    return document
