"""A change's ClickUp tasks: written from the task references its branch name and PR title name, and refreshed from
ClickUp (what each task is called, its status, who it is assigned to). The flows call these
(delivery.flows.task_links); pages read the stored links and never wait for ClickUp."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from delivery.clickup.client import ClickUpClient, ClickUpUnavailable, Task, TaskNotFound
from delivery.clickup.models import AssignedTask, TaskStatusChange
from delivery.clickup.references import ReferenceRules, TaskReference, task_references
from delivery.clickup.services import HistoryItem, status_of
from delivery.pipeline.models import Change, Release, Stage, TaskLink

REFRESH_BATCH = 50
"""Tasks read from ClickUp per run: half of ClickUp's 100 requests a minute, so the comments have room."""
KEPT_FRESH_FOR = timedelta(days=7)
"""A task linked only to changes done longer ago than this is not read again (its first read is kept): the board
and the change pages of recent work are what need its status."""


def task_links_write(*, repository_id: int, pull_request_ids: Iterable[int] | None, team_id: str = "") -> list[str]:
    """The links of the changes of these pull requests (None: all of the repository's) as their branch names and
    titles name tasks now: new ones added (not read from ClickUp yet), those no longer named removed. Returns the
    task ids newly linked."""
    rules = ReferenceRules.from_settings()
    changes = Change.objects.filter(repository_id=repository_id, pull_request__isnull=False)
    if pull_request_ids is not None:
        changes = changes.filter(pull_request_id__in=list(pull_request_ids))
    named: dict[int, list[TaskReference]] = {
        change_id: task_references([head_ref, title], rules=rules)
        for change_id, head_ref, title in changes.values_list("pk", "pull_request__head_ref", "pull_request__title")
    }
    if not named:
        return []
    stored: dict[tuple[int, str], TaskLink] = {
        (link.change_id, link.clickup_task_id): link
        for link in TaskLink.objects.filter(change_id__in=list(named)).only(
            "pk", "change_id", "clickup_task_id", "position"
        )
    }
    wanted = {
        (change_id, reference.task_id): (reference, position)
        for change_id, references in named.items()
        for position, reference in enumerate(references)
    }
    new = [
        TaskLink(
            change_id=change_id,
            clickup_task_id=reference.task_id,
            custom=reference.custom,
            position=position,
            url=reference.url(team_id=team_id or settings.CLICKUP_TEAM_ID),
        )
        for (change_id, _), (reference, position) in wanted.items()
        if (change_id, reference.task_id) not in stored
    ]
    moved = [link for key, link in stored.items() if key in wanted and link.position != wanted[key][1]]
    for link in moved:
        link.position = wanted[(link.change_id, link.clickup_task_id)][1]
    gone = [link.pk for key, link in stored.items() if key not in wanted]
    with transaction.atomic():
        TaskLink.objects.bulk_create(new, ignore_conflicts=True)  # a concurrent run wrote it: the same link
        TaskLink.objects.bulk_update(moved, ["position"])
        TaskLink.objects.filter(pk__in=gone).delete()
    return sorted({link.clickup_task_id for link in new})


@dataclass
class RefreshResult:
    found: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)


def task_links_due(*, now: datetime, limit: int = REFRESH_BATCH) -> list[TaskReference]:
    """The tasks to read from ClickUp: those never read first, then those read longest ago of changes in flight or
    done in the last week (not of changes closed unmerged), each once."""
    stale = now - timedelta(minutes=settings.CLICKUP_REFRESH_MINUTES)
    recent = ~Q(change__stage=Stage.DONE) | Q(change__production_at__gte=now - KEPT_FRESH_FOR)
    rows = (
        TaskLink.objects.filter(Q(fetched_at__isnull=True) | (Q(fetched_at__lt=stale) & recent))
        .exclude(change__stage=Stage.CLOSED)
        .order_by("fetched_at", "pk")
        .values_list("clickup_task_id", "custom")
    )
    due: dict[TaskReference, None] = {}
    for task_id, custom in rows.iterator():
        due.setdefault(TaskReference(task_id, custom=custom))
        if len(due) >= limit:
            break
    return list(due)


def task_links_refresh(*, client: ClickUpClient, references: list[TaskReference], now: datetime) -> RefreshResult:
    """Read each task from ClickUp and store what it says on every link to it; one that is gone is stored as not
    found. An outage marks the tasks not yet read as not reachable (what was read before stays) and is raised, as is
    a rate limit: the caller asks again later, and the tasks read so far are kept."""
    result = RefreshResult()
    for index, reference in enumerate(references):
        try:
            task = client.task(reference)
        except TaskNotFound:
            _named(reference).update(fetch_state=TaskLink.Fetch.NOT_FOUND, fetched_at=now, updated_at=now)
            result.not_found.append(reference.task_id)
            continue
        except ClickUpUnavailable:
            for later in references[index:]:
                _named(later).exclude(fetch_state=TaskLink.Fetch.NOT_FOUND).update(
                    fetch_state=TaskLink.Fetch.UNREACHABLE, updated_at=now
                )
            raise
        task_store(task, now=now, reference=reference, team_id=client.team_id)
        result.found.append(reference.task_id)
    return result


def task_store(task: Task, *, now: datetime, reference: TaskReference | None = None, team_id: str = "") -> int:
    """What ClickUp says of a task now, on every link to it (named by its own id or its custom id)."""
    links = TaskLink.objects.filter(_of_task(task.id, task.custom_id) | _reference_q(reference))
    return links.update(
        clickup_id=task.id[:50],
        name=task.name[:300],
        status=task.status[:100],
        status_at=now,
        url=task.url[:500] or (reference or TaskReference(task.id)).url(team_id=team_id),
        assignee_names=", ".join(task.assignees)[:300],
        criteria=task.criteria,
        fetch_state=TaskLink.Fetch.FOUND,
        fetched_at=now,
        updated_at=now,
    )


def _named(reference: TaskReference) -> QuerySet[TaskLink]:
    return TaskLink.objects.filter(_reference_q(reference))


def _reference_q(reference: TaskReference | None) -> Q:
    if reference is None:
        return Q(pk__in=[])
    named = Q(clickup_task_id=reference.task_id, custom=reference.custom)
    return named if reference.custom else named | Q(clickup_id=reference.task_id)


def _of_task(task_id: str, custom_id: str = "") -> Q:
    """The links to a task by ClickUp's own id: named so, or named by a custom id whose task was read."""
    found = Q(clickup_id=task_id) | Q(clickup_task_id=task_id, custom=False)
    return found | Q(clickup_task_id=custom_id.upper(), custom=True) if custom_id else found


# -- ClickUp's webhooks -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskDelivery:
    """What a delivery did to the links of its task, in words; and whether the task is to be read again (what a
    delivery does not carry: its checklists, its description's criteria)."""

    result: str
    read_again: bool


def task_links_deliver(*, event: str, task_id: str, items: list[HistoryItem], now: datetime) -> TaskDelivery:
    """Apply a ClickUp delivery to the links of its task: deleted, it is not found in ClickUp; a status moved, the
    newest move is shown unless what is shown is newer (deliveries arrive in any order); a new name is shown; an
    assignee added or removed likewise. A task no change names changes nothing here."""
    links = TaskLink.objects.filter(_of_task(task_id))
    if not links.exists():
        return TaskDelivery(f"{event}: no change names task {task_id}", read_again=False)
    if event == "taskDeleted":
        count = links.update(fetch_state=TaskLink.Fetch.NOT_FOUND, fetched_at=now, updated_at=now)
        return TaskDelivery(f"task {task_id} deleted in ClickUp: {count} links say not found", read_again=False)
    done = []
    for item in items:
        if item.field == "status" and (status := status_of(item.after)):
            moved = links.filter(Q(status_at__isnull=True) | Q(status_at__lt=item.at)).update(
                status=status, status_at=item.at, updated_at=now
            )
            done.append(f"status {status}" if moved else f"status {status} (older than what is shown)")
        elif item.field == "name" and isinstance(item.after, str) and item.after:
            links.update(name=item.after[:300], updated_at=now)
            done.append("renamed")
        elif item.field in ("assignee_add", "assignee_rem"):
            done.append(_assignees_move(links, item, now))
    what = "; ".join(done) or "nothing shown changed"
    return TaskDelivery(f"{event} of task {task_id}: {what}", read_again=True)


def _assignees_move(links: QuerySet[TaskLink], item: HistoryItem, now: datetime) -> str:
    person = item.after if item.field == "assignee_add" else item.before
    name = str(person.get("username") or person.get("email") or "") if isinstance(person, dict) else ""
    if not name:
        return "assignees changed"
    for link in links.only("pk", "assignee_names"):
        names = [n for n in link.assignee_names.split(", ") if n and n != name]
        if item.field == "assignee_add":
            names.append(name)
        TaskLink.objects.filter(pk=link.pk).update(assignee_names=", ".join(names)[:300], updated_at=now)
    return f"{'assigned to' if item.field == 'assignee_add' else 'no longer assigned to'} {name}"


# -- reads ----------------------------------------------------------------------------------------------------------
@dataclass
class LinkedTask:
    """A task the changes of releases name, once however they name it (by its own id once ClickUp was read)."""

    reference: TaskReference  # how ClickUp is asked for it
    label: str  # as people write it
    name: str
    url: str
    criteria: list[str]
    changes: list[Change] = field(default_factory=list)


def release_tasks(*, release_ids: list[int], author_id: int | None = None) -> list[LinkedTask]:
    """The tasks the changes of these releases name (of one author's changes, with `author_id`), in the order of the
    changes and as named; not those ClickUp said are gone. One query."""
    links = (
        TaskLink.objects.filter(change__releasechange__release_id__in=release_ids)
        .exclude(fetch_state=TaskLink.Fetch.NOT_FOUND)
        .select_related("change", "change__repository", "change__pull_request", "change__author")
        .order_by("change__merged_at", "change_id", "position")
    )
    if author_id is not None:
        links = links.filter(change__author_id=author_id)
    tasks: dict[str, LinkedTask] = {}
    for link in links:
        key = link.clickup_id or f"{link.custom}:{link.clickup_task_id}"
        reference = (
            TaskReference(link.clickup_id) if link.clickup_id else TaskReference(link.clickup_task_id, link.custom)
        )
        task = tasks.setdefault(key, LinkedTask(reference, link.label, link.name, link.url, list(link.criteria or [])))
        if link.change not in task.changes:
            task.changes.append(link.change)
    return list(tasks.values())


@dataclass
class CriteriaGroup:
    """A task's "Verify in production" items on a watch."""

    label: str
    name: str
    url: str
    items: list[Any]


def watch_criteria_groups(items: list[Any], *, release_ids: list[int]) -> list[CriteriaGroup]:
    """A watch's acceptance-criteria items (those with a `task`), grouped by task in their order, with each task's
    name and address as the covered releases' links have them. One query."""
    grouped: dict[str, list[Any]] = {}
    for item in items:
        if item.task:
            grouped.setdefault(item.task, []).append(item)
    if not grouped:
        return []
    known = {task.label: task for task in release_tasks(release_ids=release_ids)}
    return [
        CriteriaGroup(
            label, known[label].name if label in known else "", known[label].url if label in known else "", its
        )
        for label, its in grouped.items()
    ]


def watched_releases_naming(*, task_ids: list[str]) -> list[int]:
    """The releases being watched now whose changes name these tasks (as named, or by ClickUp's own id)."""
    if not task_ids:
        return []
    names = Q(changes__task_links__clickup_task_id__in=task_ids) | Q(changes__task_links__clickup_id__in=task_ids)
    return list(Release.objects.filter(names, watch_state=Release.Watch.OPEN).values_list("pk", flat=True).distinct())


def tasks_waiting(*, clickup_user_id: str) -> list[AssignedTask]:
    """The tasks of the followed lists assigned to this ClickUp user that no change names yet (one closed unmerged
    does not count), by list and id. One query."""
    if not clickup_user_id:
        return []
    named = TaskLink.objects.exclude(change__stage=Stage.CLOSED).filter(
        Q(clickup_id=OuterRef("task_id"))
        | Q(clickup_task_id=OuterRef("task_id"), custom=False)
        | Q(clickup_task_id=OuterRef("custom_id"), custom=True)
    )
    waiting = AssignedTask.objects.filter(assignee_id=clickup_user_id).exclude(Exists(named))
    return list(waiting.order_by("list_id", "custom_id", "task_id"))


@dataclass(frozen=True)
class TaskStart:
    """When work on a change's task started: its first move to CLICKUP_STARTED_STATUS that ClickUp's webhooks told."""

    label: str
    at: datetime
    status: str


def task_started(links: Iterable[TaskLink]) -> TaskStart | None:
    """The earliest start of the tasks these links name (those ClickUp's own id is known of). One query."""
    ids = {link.clickup_id or ("" if link.custom else link.clickup_task_id): link.label for link in links}
    ids.pop("", None)
    if not ids:
        return None
    first = (
        TaskStatusChange.objects.filter(task_id__in=list(ids), status__iexact=settings.CLICKUP_STARTED_STATUS)
        .order_by("changed_at")
        .values_list("task_id", "changed_at")
        .first()
    )
    return TaskStart(ids[first[0]], first[1], settings.CLICKUP_STARTED_STATUS) if first else None
