"""Sync tasks in a real Celery worker process, through the configured broker (Redis in CI)."""

from __future__ import annotations

import pytest

from delivery.github.models import PullRequest, Repository, SyncRun
from delivery.github.tasks import sync_organization_task, sync_repository_task
from tests.conftest import wait_for
from tests.github.sync_helpers import followed_repository

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_sync_task_completes_in_a_real_celery_worker(github, celery_worker):
    sync_organization_task.delay(trigger="test")

    repositories = wait_for(
        lambda: (
            Repository.objects.filter(unavailable_reason="", archived=False).count() >= 3
            and SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED).count()
            >= Repository.objects.filter(unavailable_reason="").count()
        ),
        timeout=90,
        what="every readable repository synced by the worker",
    )
    assert repositories
    expected = github.world.counts()["pull_requests"]
    assert PullRequest.objects.count() == expected
    assert celery_worker.poll() is None, "the worker is still alive"


def test_a_rate_limited_sync_task_retries_after_the_reset_instead_of_sleeping(github, celery_worker):
    repository = followed_repository(github, "api")
    github.faults.add(kind="primary_rate_limit", status=403, reset_in=2, after=0, count=1)

    sync_repository_task.delay(repository.pk, trigger="test")

    wait_for(
        lambda: SyncRun.objects.filter(repository=repository, status=SyncRun.Status.SUCCEEDED).exists(),
        timeout=60,
        what="the retried sync to succeed",
    )
    statuses = list(
        SyncRun.objects.filter(repository=repository).order_by("started_at").values_list("status", flat=True)
    )
    assert statuses == [SyncRun.Status.WAITING, SyncRun.Status.SUCCEEDED]
    waiting = SyncRun.objects.get(repository=repository, status=SyncRun.Status.WAITING)
    assert "rate limit" in waiting.error.lower()
    assert repository.pull_requests.count() == len(github.world.repo("api").pulls)


@pytest.mark.parametrize(
    "fault",
    [{"kind": "server_error", "status": 503}, {"kind": "cut_body", "damage": "chunked"}],
    ids=["5xx", "cut-mid-body"],
)
def test_a_sync_task_that_meets_an_outage_retries_with_backoff_and_completes(github, celery_worker, fault):
    repository = followed_repository(github, "web")
    # More consecutive failures than the client's quick in-process retries: the task itself must retry.
    github.faults.add(after=3, count=10, **fault)

    sync_repository_task.delay(repository.pk, trigger="test")

    wait_for(
        lambda: SyncRun.objects.filter(repository=repository, status=SyncRun.Status.SUCCEEDED).exists(),
        timeout=60,
        what="the sync to succeed after the outage",
    )
    runs = SyncRun.objects.filter(repository=repository).order_by("started_at")
    assert runs[0].status == SyncRun.Status.WAITING
    assert "unavailable" in runs[0].error.lower() or "broke off" in runs[0].error
    assert repository.pull_requests.count() == len(github.world.repo("web").pulls)
