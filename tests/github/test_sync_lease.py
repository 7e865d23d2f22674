"""One sync per repository, kept alive while it works; a sync whose worker dies is closed as interrupted and does
not hold its repository for long."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from github import Auth

from delivery.github.client import GitHubClient
from delivery.github.models import PullRequest, Repository, SyncRun
from delivery.github.sync import repository_sync
from delivery.github.sync_lease import (
    LeaseKeeper,
    SyncLeaseLost,
    repository_claim_sync,
    sync_runs_interrupted_close,
)
from delivery.github.tasks import sync_repository_task
from tests.conftest import simulator_client, wait_for
from tests.github.sync_helpers import followed_repository

RUNNING = SyncRun.Status.RUNNING


@pytest.mark.django_db(transaction=True)
def test_a_long_page_keeps_the_lease_alive_while_it_is_read(simulator, settings):
    settings.SYNC_LOCK_MINUTES = 0.05  # 3 s: the sync of the repository takes more than twice that (its pace)
    client = GitHubClient(
        base_url=simulator.api_url, auth=Auth.Token("t"), seconds_between_requests=0.6, backoff_seconds=0.01
    )
    repository = followed_repository(simulator)
    lapses: list[object] = []
    done = threading.Event()

    def watch() -> None:
        """While a run of the repository is running, its lease must hold (one SELECT sees both)."""
        while not done.is_set():
            held = (
                Repository.objects.filter(pk=repository.pk, sync_runs__status=RUNNING)
                .values_list("sync_lease_until", flat=True)
                .first()
            )
            if held is not None and held < timezone.now():
                lapses.append(held)
            time.sleep(0.05)
        connection.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        repository_sync(repository_id=repository.pk, client=client)
    finally:
        done.set()
        watcher.join()
        client.close()

    run = SyncRun.objects.get(repository=repository)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.finished_at - run.started_at > timedelta(minutes=settings.SYNC_LOCK_MINUTES) * 2, "outlived its lease"
    assert lapses == []


@pytest.mark.django_db
def test_a_sync_that_overran_its_lease_stops_once_another_took_over():
    repository = Repository.objects.create(github_id=5, owner="acme", name="slow", full_name="acme/slow")
    assert repository_claim_sync(repository.pk, owner="slow", now=timezone.now() - timedelta(minutes=10))
    run = SyncRun.objects.create(repository=repository, heartbeat_at=timezone.now() - timedelta(minutes=10))
    assert repository_claim_sync(repository.pk, owner="next")

    with pytest.raises(SyncLeaseLost):
        LeaseKeeper(repository_id=repository.pk, owner="slow", run_id=run.pk).renew()


@pytest.mark.django_db
def test_only_runs_without_a_sign_of_life_for_a_whole_lease_are_closed_as_interrupted(settings):
    repository = Repository.objects.create(github_id=6, owner="acme", name="r", full_name="acme/r")
    now = timezone.now()
    lease = timedelta(minutes=settings.SYNC_LOCK_MINUTES)
    dead = SyncRun.objects.create(repository=repository, heartbeat_at=now - lease - timedelta(seconds=1))
    alive = SyncRun.objects.create(repository=repository, heartbeat_at=now - lease + timedelta(seconds=30))
    finished = SyncRun.objects.create(
        repository=repository, status=SyncRun.Status.SUCCEEDED, heartbeat_at=now - timedelta(hours=1)
    )

    assert sync_runs_interrupted_close(now=now) == 1

    statuses = dict(SyncRun.objects.values_list("pk", "status"))
    assert statuses == {dead.pk: "interrupted", alive.pk: "running", finished.pk: "succeeded"}
    assert "worker stopped" in SyncRun.objects.get(pk=dead.pk).error


@pytest.fixture
def short_lease(monkeypatch, settings) -> float:
    """A lease of three seconds, here and in the worker process, whose requests are paced so a sync takes a while."""
    monkeypatch.setenv("SYNC_LOCK_MINUTES", "0.05")
    monkeypatch.setenv("GITHUB_SECONDS_BETWEEN_REQUESTS", "0.05")
    settings.SYNC_LOCK_MINUTES = 0.05
    return 3.0


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_killed_sync_is_closed_as_interrupted_and_its_repository_syncs_again_within_the_lease(
    short_lease, github, celery_worker, client
):
    repository = followed_repository(github)
    sync_repository_task.delay(repository.pk, trigger="test")
    run = wait_for(
        lambda: (
            repository.pull_requests.exists() and SyncRun.objects.filter(repository=repository, status=RUNNING).first()
        ),
        timeout=60,
        what="the sync to be under way",
    )

    celery_worker.kill()
    celery_worker.wait(timeout=20)

    run.refresh_from_db()
    assert run.status == RUNNING, "nobody has noticed yet"
    assert not repository_claim_sync(repository.pk, owner="too-soon"), "its lease still holds"
    time.sleep(short_lease + 0.5)
    page = client.get("/repositories/").content.decode()
    assert "every 3s" not in page, "the page stops polling for a sync that is gone"
    assert "interrupted" in page

    gh_client = simulator_client(github)
    try:
        repository_sync(repository_id=repository.pk, client=gh_client, trigger="test")
    finally:
        gh_client.close()

    run.refresh_from_db()
    assert run.status == SyncRun.Status.INTERRUPTED and run.finished_at is not None
    assert PullRequest.objects.filter(repository=repository).count() == len(github.world.repo("api").pulls)
    assert SyncRun.objects.filter(repository=repository, status=SyncRun.Status.SUCCEEDED).count() == 1
