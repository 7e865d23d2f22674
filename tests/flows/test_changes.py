"""Keeping the derivation fresh: requests coalesce, and a webhook moves a change through a real worker."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from delivery.flows.changes import repository_changed
from delivery.github.events import repository_changed_announce
from delivery.github.models import Repository
from delivery.pipeline.models import Change, Stage
from delivery.simulator.server import SimulatorServer
from tests.conftest import wait_for
from tests.factories import RepositoryFactory
from tests.github.webhook_helpers import example, post_delivery


@pytest.mark.django_db
def test_a_burst_of_derive_requests_queues_one_derivation(django_capture_on_commit_callbacks: Any) -> None:
    repository = RepositoryFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert repository_changed_announce(repository_id=repository.pk) is True
        assert repository_changed_announce(repository_id=repository.pk) is False
        assert repository_changed_announce(repository_id=repository.pk) is False
    assert len(callbacks) == 1
    repository_changed(repository_id=repository.pk)  # the queued run starts: later requests queue again
    repository.refresh_from_db()
    assert repository.derived_at is not None and not repository.derive_pending
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert repository_changed_announce(repository_id=repository.pk) is True
    assert len(callbacks) == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_webhook_moves_a_change_through_the_real_worker(
    client: Any, celery_worker: subprocess.Popen[bytes], github: SimulatorServer
) -> None:
    opened = example("pull_request", "opened.payload.json")
    opened["repository"]["owner"]["login"] = "acme"
    opened["repository"]["full_name"] = f"acme/{opened['repository']['name']}"
    assert post_delivery(client, "pull_request", opened).status_code == 202
    change = wait_for(
        lambda: Change.objects.filter(pull_request__github_id=opened["pull_request"]["id"]).first(),
        what="the change derived after the delivery",
    )
    assert change.stage == Stage.IN_REVIEW

    closed = example("pull_request", "closed.payload.json")
    closed["repository"] = opened["repository"]
    assert post_delivery(client, "pull_request", closed).status_code == 202
    wait_for(
        lambda: Change.objects.get(pk=change.pk).stage == Stage.CLOSED or Change.objects.get(pk=change.pk).merged_at,
        what="the change to move",
    )
    assert Repository.objects.get(github_id=opened["repository"]["id"]).derived_at is not None
