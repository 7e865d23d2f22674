"""A page the sync writes costs a handful of SQL statements whatever its size: pull requests with their reviews,
commits and review requests, deployments with their statuses, each written set-based (issue 15: at most one
statement per 20 synced objects)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from delivery.github.ingest import ingest_pull_requests_with_details, ingest_repositories
from delivery.github.ingest_deployments import ingest_deployments_with_statuses
from delivery.github.models import Deployment, DeploymentStatus, PullRequest, Repository
from tests.conftest import GITHUB_FIXTURES

pytestmark = pytest.mark.django_db
EXAMPLES = GITHUB_FIXTURES / "webhook-examples"
AT = "2030-01-01T00:00:00Z"


def _example(event: str, name: str = "payload.json") -> dict[str, Any]:
    return json.loads((EXAMPLES / event / name).read_text())


def _repository(name: str, github_id: int) -> Repository:
    repository = _example("pull_request", "opened.payload.json")["repository"]
    item = {**repository, "id": github_id, "name": name, "full_name": f"acme/{name}"}
    return Repository.objects.get(pk=ingest_repositories([item]).ids[github_id])


def _user(n: int) -> dict[str, Any]:
    return {"id": 700_000 + n, "login": f"dev{n}", "type": "User"}


def _pull_request_page(size: int, start: int) -> list[tuple[dict[str, Any], list[Any], list[Any]]]:
    """`size` pull requests, each by an author of its own, with two reviews, three commits and a review request."""
    base = _example("pull_request", "opened.payload.json")["pull_request"]
    page = []
    for n in range(start, start + size):
        pr = {**base, "id": n, "number": n, "user": _user(n), "requested_reviewers": [_user(n + 1)], "updated_at": AT}
        reviews = [
            {"id": n * 10 + k, "user": _user(n + k), "state": "COMMENTED", "commit_id": "a" * 40, "submitted_at": AT}
            for k in (1, 2)
        ]
        commits = [
            {
                "sha": f"{n:020x}{k:020x}",
                "author": _user(n),
                "commit": {"message": "a change", "author": {"date": AT}, "committer": {"date": AT}},
            }
            for k in range(3)
        ]
        page.append((pr, reviews, commits))
    return page


def _deployment_page(size: int, start: int) -> list[tuple[dict[str, Any], list[Any]]]:
    """`size` deployments, each with three statuses as GraphQL gives them (a node id, no database id)."""
    base = _example("deployment")["deployment"]
    page = []
    for n in range(start, start + size):
        deployment = {**base, "id": n, "node_id": f"DE_{n}", "creator": _user(n), "updated_at": AT}
        statuses = [
            {"node_id": f"DES_{n}_{k}", "state": state, "created_at": f"2030-01-01T00:0{k}:00Z", "creator": _user(n)}
            for k, state in enumerate(("queued", "in_progress", "success"))
        ]
        page.append((deployment, statuses))
    return page


def _statements(write: Any) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as captured:
        result = write()
    return len(captured.captured_queries), result


def _pull_requests_written(repository: Repository, size: int, start: int) -> Any:
    page = _pull_request_page(size, start)
    return lambda: ingest_pull_requests_with_details(repository, page)


def _deployments_written(repository: Repository, size: int, start: int) -> Any:
    page = _deployment_page(size, start)
    return lambda: ingest_deployments_with_statuses(repository, page)


@pytest.mark.parametrize(
    ("written", "objects_each"),
    [(_pull_requests_written, 1 + 2 + 3), (_deployments_written, 1 + 3)],
    ids=["pull requests with reviews and commits", "deployments with statuses"],
)
def test_a_page_costs_the_same_statements_at_10_and_100_objects_and_its_resync_writes_nothing(written, objects_each):
    small_repository, large_repository = _repository("small", 1), _repository("large", 2)
    small, large = written(small_repository, 10, 1_000), written(large_repository, 100, 2_000)

    small_count, _ = _statements(small)
    large_count, result = _statements(large)
    again_count, again = _statements(large)

    assert small_count == large_count, (small_count, large_count)
    assert result.created == 100 * objects_each
    assert large_count * 20 <= result.created, f"{large_count} statements for {result.created} objects"
    assert (again.created, again.updated) == (0, 0) and again_count <= large_count


def test_a_written_page_marks_its_details_synced_and_its_deployments_states():
    repository = _repository("api", 1)
    _pull_requests_written(repository, 10, 1_000)()
    _deployments_written(repository, 10, 1_000)()

    assert PullRequest.objects.filter(repository=repository, details_synced_for__isnull=False).count() == 10
    assert set(Deployment.objects.filter(repository=repository).values_list("state", flat=True)) == {"success"}
    assert DeploymentStatus.objects.filter(deployment__repository=repository).count() == 30
