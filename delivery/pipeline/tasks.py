"""Celery tasks of the derivation: one repository on request, and every followed repository periodically (time
alone moves changes: a watch window ends, a change becomes stuck or stale)."""

from __future__ import annotations

from celery import shared_task

from delivery.github.models import Repository
from delivery.pipeline.services import repository_derive


@shared_task(acks_late=True)
def derive_repository_task(repository_id: int) -> int:
    if not Repository.objects.filter(pk=repository_id).exists():
        return 0
    return repository_derive(repository_id=repository_id).changes_written


@shared_task(acks_late=True)
def derive_all_task() -> int:
    written = 0
    for repository_id in Repository.objects.filter(is_active=True, unavailable_reason="").values_list("pk", flat=True):
        written += repository_derive(repository_id=repository_id).changes_written
    return written
