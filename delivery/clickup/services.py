"""Writes of what Trunkline keeps of ClickUp (delivery.clickup.models): the status moves deliveries tell of, the
workspace's members, and the tasks of the lists the queues follow. The flows call these."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction

from delivery.clickup.client import Person, Task
from delivery.clickup.models import AssignedTask, TaskStatusChange, WorkspaceMember


@dataclass(frozen=True)
class HistoryItem:
    """One item of a delivery's `history_items`: what changed (`field`), when, and what it became."""

    id: str
    field: str
    at: datetime
    before: Any
    after: Any


def history_items(payload: dict[str, Any]) -> list[HistoryItem]:
    """The items of a delivery that say what and when, oldest first (an item without an id or a time is left out:
    it cannot be ordered or told apart from another)."""
    found = []
    for item in payload.get("history_items") or []:
        if not isinstance(item, dict) or not item.get("id"):
            continue
        try:
            at = datetime.fromtimestamp(int(str(item.get("date"))) / 1000, tz=UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            continue
        found.append(
            HistoryItem(str(item["id"])[:100], str(item.get("field") or ""), at, item.get("before"), item.get("after"))
        )
    return sorted(found, key=lambda i: i.at)


def status_of(value: Any) -> str:
    """A status history item's `before` or `after`: `{"status": "in progress", …}`."""
    return str(value.get("status") or "")[:100] if isinstance(value, dict) else ""


def status_changes_record(*, task_id: str, items: Iterable[HistoryItem]) -> int:
    """Keep each move of the task to a status (each history item once, whatever copies of it arrive)."""
    rows = [
        TaskStatusChange(task_id=task_id, history_id=item.id, status=status_of(item.after), changed_at=item.at)
        for item in items
        if item.field == "status" and status_of(item.after)
    ]
    return len(TaskStatusChange.objects.bulk_create(rows, ignore_conflicts=True))


def members_store(*, people: list[Person], now: datetime) -> int:
    """The workspace's members as ClickUp lists them now: new ones added, names and addresses kept current, those who
    left removed."""
    with transaction.atomic():
        for person in people:
            WorkspaceMember.objects.update_or_create(
                user_id=person.id[:50],
                defaults={"username": person.username[:200], "email": person.email[:254], "read_at": now},
            )
        WorkspaceMember.objects.exclude(user_id__in=[p.id[:50] for p in people]).delete()
    return len(people)


def assigned_tasks_store(*, list_id: str, tasks: list[Task], now: datetime) -> int:
    """A followed list's open tasks as ClickUp lists them now, one row per assignee; those no longer open or assigned
    removed. Returns how many rows the list has."""
    rows = [
        AssignedTask(
            task_id=task.id[:50],
            custom_id=task.custom_id[:50],
            assignee_id=assignee[:50],
            list_id=list_id[:50],
            name=task.name[:300],
            status=task.status[:100],
            url=task.url[:500],
            read_at=now,
        )
        for task in tasks
        for assignee in dict.fromkeys(task.assignee_ids)
    ]
    with transaction.atomic():
        AssignedTask.objects.filter(list_id=list_id[:50]).delete()
        AssignedTask.objects.bulk_create(rows, ignore_conflicts=True)  # a task in two followed lists: once
    return len(rows)
