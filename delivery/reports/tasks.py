"""The weekly report's ClickUp tasks: those the week's delivered changes name (delivered, and verified once a watch of
their change was signed off "keep"), and the changes merged without one where a repository requires a task link."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef

from delivery.metrics import sources
from delivery.metrics.scope import Scope
from delivery.monitoring.models import MonitoringSession
from delivery.pipeline.models import TaskLink
from delivery.reports.agreements import change_row

LIMIT = 200


def task_row(link: TaskLink) -> dict[str, str]:
    """A task as the report lists it beside a change: as people write it, its name, its address."""
    return {"label": link.label, "name": link.name, "url": link.url}


def tasks_section(scope: Scope) -> dict[str, Any]:
    """Each task the week's delivered changes name once (however it is named), verified when a watch of one of its
    changes by that change's author was signed off "keep"; and the changes merged in the week without a task in the
    repositories that require one."""
    kept = MonitoringSession.objects.filter(
        decision=MonitoringSession.Decision.KEEP,
        owner_id=OuterRef("change__author_id"),
        releases__changes=OuterRef("change_id"),
    )
    links = (
        TaskLink.objects.filter(change__in=sources.changes_delivered(scope).values("pk"))
        .exclude(fetch_state=TaskLink.Fetch.NOT_FOUND)
        .annotate(verified=Exists(kept))
        .select_related("change", "change__repository", "change__pull_request", "change__author")
        .order_by("change__production_at", "change_id", "position")
    )
    tasks: dict[str, dict[str, Any]] = {}
    for link in links:
        row = tasks.setdefault(
            link.clickup_id or f"{link.custom}:{link.clickup_task_id}",
            {**task_row(link), "status": link.status, "verified": False, "changes": []},
        )
        row["verified"] = row["verified"] or link.verified
        row["changes"].append(change_row(link.change))
    required = [r.pk for r in scope.repositories if r.clickup_task_required]
    without = (
        sources.changes_merged(scope)
        .filter(repository_id__in=required)
        .exclude(sources.check_passed("no_task"))
        .select_related("repository", "pull_request", "author")
        .order_by("merged_at", "pk")
    )
    without_rows = [change_row(c) for c in without[:LIMIT]]
    rows = list(tasks.values())
    return {
        "delivered": len(rows),
        "verified": sum(1 for r in rows if r["verified"]),
        "rows": rows[:LIMIT],
        "required": bool(required),
        "without_task": without_rows,
        "without_task_count": without.count() if len(without_rows) == LIMIT else len(without_rows),
    }
