"""What the mirror announces. When a sync or a webhook changed what Trunkline knows of a repository, it queues the
task named REPOSITORY_CHANGED (by name, on commit: the mirror knows nothing of what follows); the task of that
name is delivery.flows.tasks' (derive the pipeline, open watches, follow rollbacks, tell people). Requests
coalesce: a burst of webhooks queues one."""

from __future__ import annotations

from django.db import transaction

from delivery.core.queue import task_queue
from delivery.github.models import Repository

REPOSITORY_CHANGED = "flows.repository_changed"


def repository_changed_announce(*, repository_id: int) -> bool:
    """Queue REPOSITORY_CHANGED for the repository once the caller's transaction commits, unless it is already
    queued (one conditional UPDATE decides). If the broker refuses, the flag drops and the periodic derivation
    catches up. Returns whether this call queued it."""
    if not Repository.objects.filter(pk=repository_id, derive_pending=False).update(derive_pending=True):
        return False

    def enqueue() -> None:
        if not task_queue(REPOSITORY_CHANGED, repository_id):
            Repository.objects.filter(pk=repository_id).update(derive_pending=False)

    transaction.on_commit(enqueue)
    return True


def repository_change_taken(*, repository_id: int) -> None:
    """The announced change is being handled now: a change arriving meanwhile queues another run."""
    Repository.objects.filter(pk=repository_id).update(derive_pending=False)
