"""A change's ClickUp tasks: written from the task references its branch name and PR title name, and refreshed from
ClickUp (what each task is called, its status, who it is assigned to). The flows call these
(delivery.flows.task_links); pages read the stored links and never wait for ClickUp."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from delivery.clickup.client import ClickUpClient, ClickUpUnavailable, TaskNotFound
from delivery.clickup.references import ReferenceRules, TaskReference, task_references
from delivery.pipeline.models import Change, Stage, TaskLink

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
        links = TaskLink.objects.filter(clickup_task_id=reference.task_id, custom=reference.custom)
        try:
            task = client.task(reference)
        except TaskNotFound:
            links.update(fetch_state=TaskLink.Fetch.NOT_FOUND, fetched_at=now, updated_at=now)
            result.not_found.append(reference.task_id)
            continue
        except ClickUpUnavailable:
            for later in references[index:]:
                TaskLink.objects.filter(clickup_task_id=later.task_id, custom=later.custom).exclude(
                    fetch_state=TaskLink.Fetch.NOT_FOUND
                ).update(fetch_state=TaskLink.Fetch.UNREACHABLE, updated_at=now)
            raise
        links.update(
            name=task.name[:300],
            status=task.status[:100],
            url=task.url[:500] or reference.url(team_id=client.team_id),
            assignee_names=", ".join(task.assignees)[:300],
            fetch_state=TaskLink.Fetch.FOUND,
            fetched_at=now,
            updated_at=now,
        )
        result.found.append(reference.task_id)
    return result
