"""A second rollback right after a first one (the demo's mobile-bff: v1.24.16 rolled back to v1.24.15, then
v1.24.18 went live in the very second the rollback's redeploy of v1.24.15 did, then v1.24.18 rolled back to
v1.24.15): what it undoes is v1.24.18 and its changes, not "nothing, the same code"; and the rollback follows the
deployment it made, never the first rollback's, by the webhook path and by the polling path."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from delivery.flows.rollbacks import rollbacks_followed
from delivery.github.models import DeploymentStatus
from delivery.pipeline.models import Release
from delivery.rollbacks.models import Rollback
from delivery.rollbacks.selectors import changes_undone, live_release, on_call_board, releases_undone
from tests.conftest import member
from tests.factories import DeploymentFactory
from tests.rollbacks.helpers import history, release, rollback_row

pytestmark = pytest.mark.django_db


def _redeploy(repo: Any, of: Release, *, at: Any) -> Release:
    """A rollback's deployment of `of`'s tag, created six seconds before it succeeded at `at`."""
    deployment = DeploymentFactory(
        repository=repo, sha=of.sha, ref=of.tag_name, created_at=at - timedelta(seconds=6), state_at=at
    )
    DeploymentStatus.objects.create(
        deployment=deployment, github_id=deployment.github_id, state="success", created_at=at
    )
    return Release.objects.create(
        repository=repo,
        deployment=deployment,
        environment="production",
        sha=of.sha,
        tag_name=of.tag_name,
        state=Release.State.SUCCEEDED,
        deployed_at=at,
        is_rollback=True,
        watch_state=Release.Watch.NONE,  # as the derivation marks a rollback's release
    )


@pytest.fixture
def after_first() -> dict[str, Any]:
    """history()'s v1.0 … v1.2, v1.2 rolled back to v1.0 (rollback #1, succeeded, its redeploy live at T), and v1.3
    (four changes) live in the same second T, after the redeploy."""
    olga, pete = member("olga"), member("pete")
    made = {"olga": olga, "pete": pete, "ona": member("ona", role="on-call"), **history(olga.developer, pete.developer)}
    at = made["now"] - timedelta(seconds=90)
    first = rollback_row(made, state="dispatched", requested_at=at - timedelta(seconds=9))
    Rollback.objects.filter(pk=first.pk).update(requested_at=at - timedelta(seconds=9))
    first.refresh_from_db()
    first.releases_undone.set([made["v1.2"]])
    redeploy = _redeploy(made["repo"], made["v1.0"], at=at)
    rollbacks_followed(repository_id=made["repo"].pk, now=at + timedelta(seconds=1))
    first.refresh_from_db()
    assert first.state == "succeeded" and first.deployment_id == redeploy.deployment_id
    v13 = release(made["repo"], "v1.3", at=at, owners=[pete.developer], changes=4)  # the same second
    return {**made, "first": first, "redeploy": redeploy, "v1.3": v13, "at": at}


def test_a_release_live_in_the_same_second_as_a_rollbacks_redeploy_is_what_the_next_rollback_undoes(
    after_first: dict[str, Any],
) -> None:
    v13, v10 = after_first["v1.3"], after_first["v1.0"]
    assert v13.deployed_at == after_first["redeploy"].deployed_at  # a tie, to the second
    assert live_release(after_first["repo"]) == v13
    assert [r.tag_name for r in releases_undone(v13, v10)] == ["v1.3"]
    assert len(changes_undone(v13, v10)) == 4
    (row,) = [r for r in on_call_board(now=after_first["now"]) if r.repository == after_first["repo"]]
    assert row.live == v13 and row.known_good is not None and row.known_good.sha == v10.sha

    client = Client()
    client.force_login(after_first["ona"])
    page = client.get(reverse("rollback-new", args=[v13.pk])).content.decode()
    assert "Releases this takes out of production (1)" in page and "Changes this undoes (4)" in page
    form = {"target": row.known_good.pk, "reason": "5xx again", "idempotency_key": uuid.uuid4().hex, "live": v13.pk}
    assert client.post(reverse("rollback-new", args=[v13.pk]), form).status_code == 302
    second = Rollback.objects.exclude(pk=after_first["first"].pk).get()
    assert list(second.releases_undone.all()) == [v13]
    v13.refresh_from_db()
    assert v13.failed and v13.failure_reason == "Rolled back: 5xx again"


def test_the_tie_goes_the_derivations_way_whichever_deployment_came_later(after_first: dict[str, Any]) -> None:
    """The derivation orders deploys by success time, then deployment: a redeploy whose deployment came after the
    release's is the one live, and then the release is no longer something a rollback to its predecessor undoes."""
    v13, redeploy = after_first["v1.3"], after_first["redeploy"]
    later = DeploymentFactory(
        repository=after_first["repo"], sha=redeploy.sha, ref="v1.0", state_at=redeploy.deployed_at
    )
    Release.objects.filter(pk=redeploy.pk).update(deployment=later)
    Release.objects.filter(pk=v13.pk).update(watch_state=Release.Watch.DONE)  # known good once its watch is done
    redeploy.refresh_from_db()
    assert live_release(after_first["repo"]) == redeploy
    (row,) = [r for r in on_call_board(now=after_first["now"]) if r.repository == after_first["repo"]]
    assert row.live == redeploy and row.known_good == v13


def _second_rollback(after_first: dict[str, Any]) -> Rollback:
    now = after_first["now"]
    second = rollback_row(
        after_first,
        state="dispatched",
        from_release=after_first["v1.3"],
        idempotency_key="second",
        dispatched_at=now,
    )
    Rollback.objects.filter(pk=second.pk).update(requested_at=now, dispatched_at=now)
    second.refresh_from_db()
    second.releases_undone.set([after_first["v1.3"]])
    return second


def test_the_second_rollback_follows_its_own_deployment_not_the_first_ones(after_first: dict[str, Any]) -> None:
    """The webhook path: the mirror changed, the flow follows rollbacks in flight."""
    second = _second_rollback(after_first)
    now = after_first["now"]
    rollbacks_followed(repository_id=after_first["repo"].pk, now=now + timedelta(seconds=1))
    second.refresh_from_db()
    assert second.state == "dispatched" and second.deployment_id is None  # the first one's redeploy is not its result
    assert Release.objects.get(pk=after_first["v1.3"].pk).state == Release.State.SUCCEEDED

    # One made a second before the request (GitHub's clock, whole seconds) is not either, once it was live before.
    ours = _redeploy(after_first["repo"], after_first["v1.0"], at=now + timedelta(seconds=5))
    rollbacks_followed(repository_id=after_first["repo"].pk, now=now + timedelta(seconds=6))
    second.refresh_from_db()
    assert second.state == "succeeded" and second.deployment_id == ours.deployment_id
    assert Release.objects.get(pk=after_first["v1.3"].pk).state == Release.State.ROLLED_BACK
