"""The queues' ClickUp side: who each person is in ClickUp, and the tasks of the followed lists assigned to them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from delivery.accounts.models import Developer
from delivery.accounts.services import developers_match_clickup
from delivery.clickup.client import ClickUpClient, Task, configured
from delivery.clickup.services import assigned_tasks_store, members_store

MAX_PAGES = 20
"""Pages read of one list a run (100 tasks each): a list past that is read in part."""


@dataclass
class QueuesRead:
    members: int = 0
    matched: int = 0
    tasks: int = 0


def clickup_queues_read(*, now: datetime | None = None) -> QueuesRead:
    """Beat: 1. the workspace's members read, and people matched to them by a verified e-mail address (a choice made
    on their page stays); 2. the open tasks of each list in CLICKUP_QUEUE_LISTS assigned to someone known read, so
    My queue shows a person's tasks no change names yet. Nothing without ClickUp settings. A rate limit or an outage
    comes through for the task to retry; what was stored before stays."""
    done = QueuesRead()
    if not configured():
        return done
    now = now or timezone.now()
    client = ClickUpClient.from_settings()
    done.members = members_store(people=client.members(), now=now)
    done.matched = developers_match_clickup()
    people = sorted(
        set(
            Developer.objects.exclude(clickup_user_id="")
            .filter(user__is_active=True)
            .values_list("clickup_user_id", flat=True)
        )
    )
    for list_id in settings.CLICKUP_QUEUE_LISTS:
        tasks: list[Task] = []
        for page in range(MAX_PAGES if people else 0):
            found, last = client.list_tasks(list_id=list_id, assignee_ids=people, page=page)
            tasks += found
            if last:
                break
        done.tasks += assigned_tasks_store(list_id=list_id, tasks=tasks, now=now)
    return done
