"""A change's ClickUp tasks: linked when its branch or pull request changes, their data read from ClickUp after the
derivation commits and again periodically. ClickUp is read only here, from a Celery task; pages show what is stored."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from delivery.clickup.client import ClickUpClient, configured
from delivery.clickup.references import TaskReference
from delivery.core.queue import task_queue
from delivery.flows.requests import REFRESH_TASK_LINKS
from delivery.flows.watches import watch_criteria_added
from delivery.pipeline.task_links import (
    REFRESH_BATCH,
    RefreshResult,
    task_links_due,
    task_links_refresh,
    task_links_write,
    watched_releases_naming,
)

NEXT_BATCH_SECONDS = 60
"""A full batch (a first sync linked many tasks) asks for the next one a minute later: ClickUp's 100 requests a minute
leave room for the rest."""


def task_links_written(*, repository_id: int, pull_request_ids: list[int] | None) -> list[str]:
    """1. link the derived changes to the tasks their branch names and titles name (ClickUp configured or not: the
    page then says it is not); 2. once that commits, read the new tasks from ClickUp."""
    new = task_links_write(repository_id=repository_id, pull_request_ids=pull_request_ids)
    if new and configured():
        transaction.on_commit(lambda: task_queue(REFRESH_TASK_LINKS))
    return new


def task_links_refreshed(*, now: datetime | None = None) -> RefreshResult:
    """The tasks due (never read, or read a while ago) read from ClickUp, the open watches of their changes given
    their acceptance criteria, and a full batch asks for the next; nothing without ClickUp settings. ClickUp's errors
    come through for the task to retry (a rate limit: once it resets)."""
    if not configured():
        return RefreshResult()
    now = now or timezone.now()
    due = task_links_due(now=now, limit=REFRESH_BATCH)
    try:
        result = task_links_refresh(client=ClickUpClient.from_settings(), references=due, now=now)
    finally:  # what was read before a rate limit too
        watch_criteria_added(release_ids=watched_releases_naming(task_ids=[r.task_id for r in due]))
    if len(due) >= REFRESH_BATCH:
        task_queue(REFRESH_TASK_LINKS, countdown=NEXT_BATCH_SECONDS)
    return result


def task_read(*, task_id: str, now: datetime | None = None) -> RefreshResult:
    """One task read from ClickUp again (after a webhook told of a change), by ClickUp's own id; the watches of its
    changes' releases get its acceptance criteria as they are now."""
    if not configured():
        return RefreshResult()
    now = now or timezone.now()
    result = task_links_refresh(client=ClickUpClient.from_settings(), references=[TaskReference(task_id)], now=now)
    watch_criteria_added(release_ids=watched_releases_naming(task_ids=[task_id]))
    return result
