"""Executing a rollback on GitHub (the simulator, over real HTTP through PyGithub) by either method, and following
GitHub to the end: succeeded, failed with the deployment's outcome, failed with GitHub's error and retried, or
timed out."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from delivery.flows.changes import repository_changed
from delivery.flows.rollbacks import (
    rollback_executed,
    rollback_requested,
    rollback_retried,
    rollbacks_followed,
    rollbacks_polled,
)
from delivery.github.models import Repository
from delivery.pipeline.models import Release
from delivery.rollbacks.models import Rollback
from delivery.rollbacks.selectors import last_known_good, live_release
from tests.conftest import member, sync_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(github: Any, gh_client: Any) -> dict[str, Any]:
    sync_all(gh_client, github.world.org_login)
    for pk in Repository.objects.values_list("pk", flat=True):
        repository_changed(repository_id=pk)
    repo = next(
        r
        for r in Repository.objects.filter(is_active=True, archived=False)
        if Release.objects.filter(repository=r).exclude(tag_name="").count() >= 2
    )
    live = live_release(repo)
    target = last_known_good(live)
    assert live is not None and target is not None
    return {"repo": repo, "live": live, "target": target, "admin": member("ada", role="admin")}


def _start(synced: dict[str, Any], method: str = "workflow_dispatch") -> Rollback:
    Repository.objects.filter(pk=synced["repo"].pk).update(rollback_method=method)
    return rollback_requested(
        release=Release.objects.select_related("repository").get(pk=synced["live"].pk),
        target=synced["target"],
        user=synced["admin"],
        reason="errors after the deploy",
        idempotency_key=uuid.uuid4().hex,
        shown_live_id=synced["live"].pk,
    ).rollback


@pytest.mark.parametrize("method", ["workflow_dispatch", "deployment"])
def test_a_rollback_runs_on_github_and_follows_it_to_success(
    synced: dict[str, Any], github: Any, gh_client: Any, method: str
) -> None:
    rollback = _start(synced, method)
    assert rollback_executed(rollback_id=rollback.pk, client=gh_client).state == "dispatched"
    assert rollback_executed(rollback_id=rollback.pk, client=gh_client).state == "dispatched"  # once only
    github.world.settle()  # GitHub runs the workflow / the deployment to its end

    rollbacks_polled(client=gh_client)  # no webhooks here: the polling fallback reads GitHub
    rollback.refresh_from_db()
    assert rollback.state == "succeeded", rollback.error
    assert rollback.deployment.ref == rollback.target_tag and rollback.deployment.state == "success"
    assert rollback.dispatched_at and rollback.deploying_at and rollback.finished_at
    assert Release.objects.get(pk=synced["live"].pk).state == Release.State.ROLLED_BACK
    if method == "workflow_dispatch":
        runs = github.world.repo(synced["repo"].name).runs.values()
        assert any(r.event == "workflow_dispatch" and r.inputs.get("tag") == rollback.target_tag for r in runs)


def test_a_failed_deployment_fails_the_rollback_with_its_outcome(
    synced: dict[str, Any], github: Any, gh_client: Any
) -> None:
    github.world.switches["fail_next_production_deploy"] = True
    rollback = _start(synced)
    rollback_executed(rollback_id=rollback.pk, client=gh_client)
    github.world.settle()
    rollbacks_polled(client=gh_client)
    rollback.refresh_from_db()
    assert rollback.state == "failed" and "ended in failure" in rollback.error


def test_github_failing_the_dispatch_fails_it_in_words_and_a_retry_works(
    synced: dict[str, Any], github: Any, gh_client: Any
) -> None:
    github.faults.add(kind="server_error", count=10, status=500, path_contains="/dispatches", method="POST")
    rollback = _start(synced)
    rollback_executed(rollback_id=rollback.pk, client=gh_client)
    rollback.refresh_from_db()
    assert rollback.state == "failed" and rollback.error.startswith("GitHub refused the rollback: GitHub unavailable")

    github.faults.clear()
    rollback_retried(rollback=rollback, user=synced["admin"])
    assert Rollback.objects.get(pk=rollback.pk).state == "requested"
    rollback_executed(rollback_id=rollback.pk, client=gh_client)
    github.world.settle()
    rollbacks_polled(client=gh_client)
    rollback.refresh_from_db()
    assert rollback.state == "succeeded" and rollback.error == ""


def test_a_rejected_dispatch_says_why(synced: dict[str, Any], github: Any, gh_client: Any) -> None:
    github.faults.add(
        kind="validation_failed",
        path_contains="/dispatches",
        method="POST",
        message="Workflow does not have 'workflow_dispatch' trigger",
    )
    rollback = _start(synced)
    rollback_executed(rollback_id=rollback.pk, client=gh_client)
    rollback.refresh_from_db()
    assert rollback.state == "failed" and "Workflow does not have 'workflow_dispatch' trigger" in rollback.error


def test_a_rollback_that_hears_nothing_times_out(synced: dict[str, Any], settings: Any) -> None:
    settings.ROLLBACK_TIMEOUT_MINUTES = 20
    rollback = _start(synced)
    Rollback.objects.filter(pk=rollback.pk).update(state="dispatched", dispatched_at=timezone.now())
    assert rollbacks_followed(repository_id=synced["repo"].pk, now=timezone.now() + timedelta(minutes=19)) == 0
    assert rollbacks_followed(repository_id=synced["repo"].pk, now=timezone.now() + timedelta(minutes=21)) == 1
    rollback.refresh_from_db()
    assert rollback.state == "failed" and "within 20 minutes" in rollback.error


def test_the_poll_does_not_take_the_first_rollbacks_deployment_for_the_seconds(
    synced: dict[str, Any], github: Any, gh_client: Any
) -> None:
    """The polling path, against GitHub (the simulator): rollback #1 runs to success; rollback #2 of the same tag,
    asked for afterwards, reads the tag's deployments from GitHub (rollback #1's among them) and waits for its own."""
    first = _start(synced)
    rollback_executed(rollback_id=first.pk, client=gh_client)
    github.world.settle()
    rollbacks_polled(client=gh_client)
    first.refresh_from_db()
    assert first.state == "succeeded", first.error
    second = Rollback.objects.create(
        repository=first.repository,
        environment=first.environment,
        from_release=first.from_release,
        target_release=first.target_release,
        target_tag=first.target_tag,
        target_sha=first.target_sha,
        reason="again",
        method=first.method,
        idempotency_key="second",
        state="dispatched",
        dispatched_at=timezone.now(),
    )
    rollbacks_polled(client=gh_client)
    second.refresh_from_db()
    assert second.state == "dispatched" and second.deployment_id is None, second.deployment_id
