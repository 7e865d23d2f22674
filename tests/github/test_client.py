"""The GitHub client against answers that go wrong on the way (the simulator's spoiling faults), through the sync
that uses it: nothing of a damaged answer is kept, and a broken one is retried like an outage."""

from __future__ import annotations

import pytest

from delivery.github.client import GitHubBadAnswer, GitHubUnavailable
from delivery.github.models import Repository, SyncCursor, SyncRun
from delivery.github.sync import repository_sync

pytestmark = pytest.mark.django_db


def _repository(simulator, name: str = "api") -> Repository:
    org = simulator.world.org_login
    return Repository.objects.create(
        github_id=simulator.world.repo(name).id, owner=org, name=name, full_name=f"{org}/{name}"
    )


@pytest.mark.parametrize("damage", ["truncated", "not_json", "wrong_shape"])
def test_a_damaged_page_is_read_again_not_bookmarked_as_empty(simulator, gh_client, damage):
    repository = _repository(simulator)
    simulator.faults.add(kind="damaged_body", damage=damage, path_contains="/repos/acme/api/pulls", count=1)

    repository_sync(repository_id=repository.pk, client=gh_client)
    repository_sync(repository_id=repository.pk, client=gh_client)

    assert repository.pull_requests.count() == len(simulator.world.repo("api").pulls)


def test_a_page_that_stays_damaged_stops_the_run_in_words_and_bookmarks_nothing(simulator, gh_client):
    repository = _repository(simulator)
    simulator.faults.add(kind="damaged_body", path_contains="/repos/acme/api/deployments", count=100)

    with pytest.raises(GitHubBadAnswer):
        repository_sync(repository_id=repository.pk, client=gh_client)

    run = SyncRun.objects.get(repository=repository)
    assert run.status == SyncRun.Status.WAITING
    assert "damaged answer" in run.error and "/deployments" in run.error
    cursor = SyncCursor.objects.get(repository=repository, resource=SyncCursor.Resource.DEPLOYMENTS)
    assert cursor.etag == "" and cursor.last_success_at is None and "damaged" in cursor.last_error

    simulator.faults.clear()
    repository_sync(repository_id=repository.pk, client=gh_client)
    assert repository.deployments.count() == len(simulator.world.repo("api").deployments)


@pytest.mark.parametrize("damage", ["length", "chunked", "bad_gzip"])
def test_a_connection_cut_inside_the_body_is_retried_like_an_outage(simulator, gh_client, damage):
    repository = _repository(simulator)
    simulator.faults.add(kind="cut_body", damage=damage, path_contains="/repos/acme/api/pulls", count=1)

    repository_sync(repository_id=repository.pk, client=gh_client)

    assert repository.pull_requests.count() == len(simulator.world.repo("api").pulls)
    assert SyncRun.objects.get(repository=repository).status == SyncRun.Status.SUCCEEDED


def test_a_connection_that_keeps_breaking_off_waits_for_a_retry_instead_of_failing(simulator, gh_client):
    repository = _repository(simulator)
    simulator.faults.add(kind="cut_body", path_contains="/repos/acme/api/commits", count=100)

    with pytest.raises(GitHubUnavailable):
        repository_sync(repository_id=repository.pk, client=gh_client)

    run = SyncRun.objects.get(repository=repository)
    assert run.status == SyncRun.Status.WAITING, run.error
    assert "broke off" in run.error
