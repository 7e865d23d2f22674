"""The GitHub client against answers that go wrong on the way (the simulator's spoiling faults), through the sync
that uses it: nothing of a damaged answer is kept, and a broken one is retried like an outage."""

from __future__ import annotations

import pytest

from delivery.github.client import GitHubBadAnswer
from delivery.github.models import SyncCursor, SyncRun
from delivery.github.sync import repository_sync
from tests.conftest import mirror_counts
from tests.github.sync_helpers import followed_repository

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("damage", ["truncated", "not_json", "wrong_shape"])
def test_a_damaged_page_is_read_again_not_bookmarked_as_empty(simulator, gh_client, damage):
    repository = followed_repository(simulator)
    simulator.faults.add(kind="damaged_body", damage=damage, path_contains="/repos/acme/api/pulls", count=1)

    repository_sync(repository_id=repository.pk, client=gh_client)
    repository_sync(repository_id=repository.pk, client=gh_client)

    assert repository.pull_requests.count() == len(simulator.world.repo("api").pulls)


@pytest.mark.parametrize(
    ("fault", "resource", "words"),
    [
        ({"kind": "damaged_body", "path_contains": "/repos/acme/api/deployments"}, "deployments", "not JSON"),
        ({"kind": "cut_body", "path_contains": "/repos/acme/api/commits"}, "commits", "broke off"),
    ],
    ids=["damaged", "cut"],
)
def test_an_answer_that_stays_broken_stops_the_run_as_waiting_in_words_and_bookmarks_nothing(
    simulator, gh_client, client, fault, resource, words
):
    repository = followed_repository(simulator)
    simulator.faults.add(count=100, **fault)

    with pytest.raises(GitHubBadAnswer):  # a GitHubUnavailable: the task retries it with a backoff
        repository_sync(repository_id=repository.pk, client=gh_client)

    run = SyncRun.objects.get(repository=repository)
    assert run.status == SyncRun.Status.WAITING
    assert "damaged answer" in run.error and words in run.error and fault["path_contains"] in run.error
    cursor = SyncCursor.objects.get(repository=repository, resource=resource)
    assert cursor.etag == "" and cursor.last_success_at is None and "damaged" in cursor.last_error
    assert "GitHub sent a damaged answer" in client.get("/repositories/").content.decode()

    simulator.faults.clear()
    repository_sync(repository_id=repository.pk, client=gh_client)
    assert mirror_counts()["deployments"] == len(simulator.world.repo("api").deployments)


@pytest.mark.parametrize("damage", ["length", "chunked", "bad_gzip"])
def test_a_connection_cut_inside_the_body_is_retried_like_an_outage(simulator, gh_client, damage):
    repository = followed_repository(simulator)
    simulator.faults.add(kind="cut_body", damage=damage, path_contains="/repos/acme/api/pulls", count=1)

    repository_sync(repository_id=repository.pk, client=gh_client)

    assert repository.pull_requests.count() == len(simulator.world.repo("api").pulls)
    assert SyncRun.objects.get(repository=repository).status == SyncRun.Status.SUCCEEDED
