"""The ingest layer takes GitHub's own JSON (here: GitHub's published webhook examples) and applying the
same object twice changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from delivery.github.ingest import (
    ingest_pull_requests,
    ingest_repositories,
    ingest_reviews,
    ingest_tags,
    ingest_workflow_runs,
)
from delivery.github.ingest_deployments import ingest_deployment_statuses, ingest_deployments
from delivery.github.models import Deployment, PullRequest, Repository, Review, Tag, WorkflowRun
from tests.conftest import GITHUB_FIXTURES

pytestmark = pytest.mark.django_db
EXAMPLES = GITHUB_FIXTURES / "webhook-examples"


def _example(event: str, name: str = "payload.json") -> dict:
    return json.loads(Path(EXAMPLES / event / name).read_text())


def _repository(payload: dict) -> Repository:
    result = ingest_repositories([payload["repository"]])
    return Repository.objects.get(pk=result.ids[payload["repository"]["id"]])


def test_a_pull_request_applied_twice_is_stored_once_and_unchanged():
    payload = _example("pull_request", "opened.payload.json")
    repository = _repository(payload)

    first = ingest_pull_requests(repository, [payload["pull_request"]])
    second = ingest_pull_requests(repository, [payload["pull_request"]])

    assert (first.created, second.created, second.updated, second.unchanged) == (1, 0, 0, 1)
    pr = PullRequest.objects.get()
    assert pr.number == payload["pull_request"]["number"]
    assert pr.author.login == payload["pull_request"]["user"]["login"]


def test_a_newer_version_of_a_pull_request_updates_the_row():
    opened = _example("pull_request", "opened.payload.json")
    repository = _repository(opened)
    ingest_pull_requests(repository, [opened["pull_request"]])
    changed = {**opened["pull_request"], "title": "A better title", "updated_at": "2030-01-01T00:00:00Z"}

    result = ingest_pull_requests(repository, [changed])

    assert (result.created, result.updated) == (0, 1)
    assert PullRequest.objects.get().title == "A better title"


def test_a_review_and_its_author_are_ingested():
    payload = _example("pull_request_review", "submitted.payload.json")
    repository = _repository(payload)
    pr_result = ingest_pull_requests(repository, [payload["pull_request"]])
    pr = PullRequest.objects.get(pk=pr_result.ids[payload["pull_request"]["id"]])

    ingest_reviews(pr, [payload["review"]])
    again = ingest_reviews(pr, [payload["review"]])

    review = Review.objects.get()
    assert review.state == payload["review"]["state"].upper()
    assert review.author.login == payload["review"]["user"]["login"]
    assert again.created == 0 and again.updated == 0


def test_a_deployment_and_its_status_set_the_deployment_state():
    deployment_payload = _example("deployment")
    status_payload = _example("deployment_status")
    repository = _repository(deployment_payload)
    result = ingest_deployments(repository, [deployment_payload["deployment"]])
    deployment = Deployment.objects.get(pk=result.ids[deployment_payload["deployment"]["id"]])
    assert deployment.state == ""

    status = {**status_payload["deployment_status"], "created_at": "2030-01-01T00:00:00Z"}
    ingest_deployment_statuses(deployment, [status])

    deployment.refresh_from_db()
    assert deployment.state == status_payload["deployment_status"]["state"]


def test_a_malformed_item_is_skipped_with_a_reason_and_the_rest_kept():
    payload = _example("pull_request", "opened.payload.json")
    repository = _repository(payload)
    broken = {k: v for k, v in payload["pull_request"].items() if k != "created_at"}
    good = {**payload["pull_request"], "id": payload["pull_request"]["id"] + 1, "number": 999}

    result = ingest_pull_requests(repository, [broken, good])

    assert result.created == 1
    assert len(result.skipped) == 1 and "created_at" in result.skipped[0]


@pytest.mark.parametrize(
    ("patch", "reason"),
    [
        ({"id": None}, "github_id is missing"),
        ({"id": "12a"}, "github_id is not a whole number"),
        ({"number": -1}, "number is out of range"),
        ({"state": "x" * 11}, "state is longer than 10 characters"),
        ({"title": "NUL\x00in the title"}, "title contains a NUL character"),
        ({"updated_at": "2024-13-45T00:00:00Z"}, "ValueError"),
        ({"requested_reviewers": {"login": "someone"}}, "a list expected, not dict"),
        ({"user": "someone"}, "a user that is not an object"),
    ],
    ids=["null-id", "text-id", "negative-number", "long-state", "nul", "bad-date", "object-for-list", "text-user"],
)
def test_a_malformed_object_the_database_would_refuse_is_skipped_and_counted_not_the_page(patch, reason):
    payload = _example("pull_request", "opened.payload.json")
    repository = _repository(payload)
    broken = {**payload["pull_request"], **patch}
    good = {**payload["pull_request"], "id": payload["pull_request"]["id"] + 1, "number": 999}

    result = ingest_pull_requests(repository, [broken, good])

    assert (result.created, result.malformed) == (1, 1)
    assert len(result.skipped) == 1 and reason in result.skipped[0], result.skipped
    assert list(PullRequest.objects.values_list("number", flat=True)) == [999]


def test_a_deployment_whose_payload_holds_a_nul_is_skipped_not_its_page():
    payload = _example("deployment")
    repository = _repository(payload)
    broken = {**payload["deployment"], "payload": {"note": ["fine", {"x": "NUL\x00"}]}}
    good = {**payload["deployment"], "id": payload["deployment"]["id"] + 1}

    result = ingest_deployments(repository, [broken, good])

    assert (result.created, result.malformed) == (1, 1) and "payload contains a NUL" in result.skipped[0]


def test_tag_time_from_a_webhook_is_not_erased_by_a_later_listing():
    repository = Repository.objects.create(github_id=1, owner="acme", name="api", full_name="acme/api")
    listed = {"name": "v1.0.0", "commit": {"sha": "a" * 40}}
    from django.utils import timezone

    moment = timezone.now()
    ingest_tags(repository, [listed], created_at=moment)
    ingest_tags(repository, [listed])

    assert Tag.objects.get().created_at == moment


def test_a_repository_name_taken_over_by_a_new_repository_does_not_collide():
    payload = _example("pull_request", "opened.payload.json")
    old = _repository(payload)
    recreated = {**payload["repository"], "id": payload["repository"]["id"] + 1000}

    result = ingest_repositories([recreated])

    assert result.created == 1
    new = Repository.objects.get(github_id=recreated["id"])
    assert new.full_name == payload["repository"]["full_name"]
    old.refresh_from_db()
    assert old.full_name.startswith(payload["repository"]["full_name"] + "~")


# -- copies arriving out of order ---------------------------------------------------------------------------------
def test_an_older_copy_of_a_pull_request_does_not_move_it_back():
    payload = _example("pull_request", "closed.payload.json")
    repository = _repository(payload)
    closed = payload["pull_request"]
    opened = {**closed, "state": "open", "closed_at": None, "merged_at": None, "updated_at": "2019-05-15T15:00:00Z"}
    ingest_pull_requests(repository, [closed])
    late = ingest_pull_requests(repository, [opened])
    assert (late.updated, late.stale) == (0, 1)
    assert PullRequest.objects.get().state == "closed"


def test_a_dismissed_review_stays_dismissed_when_an_earlier_copy_arrives_late():
    payload = _example("pull_request_review", "submitted.payload.json")
    repository = _repository(payload)
    result = ingest_pull_requests(repository, [payload["pull_request"]])
    pull_request = PullRequest.objects.get(pk=result.ids[payload["pull_request"]["id"]])
    approved = {**payload["review"], "state": "approved"}
    dismissed = {**payload["review"], "state": "dismissed"}
    ingest_reviews(pull_request, [dismissed])
    late = ingest_reviews(pull_request, [approved])
    assert late.stale == 1
    assert Review.objects.get().state == "DISMISSED"


def test_of_two_equally_new_copies_of_a_workflow_run_the_more_advanced_wins_in_any_order():
    payload = _example("workflow_run", "completed.payload.json")
    repository = _repository(payload)
    completed = payload["workflow_run"]
    in_progress = {**completed, "status": "in_progress", "conclusion": None}  # the same second
    for order in ([in_progress, completed], [completed, in_progress]):
        WorkflowRun.objects.all().delete()
        for run in order:
            ingest_workflow_runs(repository, [run])
        assert WorkflowRun.objects.get().status == "completed", order


def test_only_web_links_are_kept_from_deployment_statuses() -> None:
    from delivery.github.ingest_deployments import web_url

    assert web_url("https://preview.example/pr-1") == "https://preview.example/pr-1"
    assert web_url("javascript:alert(document.cookie)") == ""
    assert web_url(" JavaScript:x") == "" and web_url(None) == ""


def test_statuses_are_keyed_on_their_node_id_and_old_rows_adopt_theirs():
    """GraphQL gives a deployment status no database id: statuses are one row per node id, whichever source said
    them; rows stored before node ids take theirs, from REST by id or from GraphQL by state and time."""
    from delivery.github.models import DeploymentStatus

    deployment_payload = _example("deployment")
    repository = _repository(deployment_payload)
    result = ingest_deployments(repository, [deployment_payload["deployment"]])
    deployment = Deployment.objects.get(pk=result.ids[deployment_payload["deployment"]["id"]])
    old_rest = {"id": 11, "state": "in_progress", "created_at": "2030-01-01T00:00:00Z"}
    old_graphql = {"id": 12, "state": "success", "created_at": "2030-01-01T00:05:00Z"}
    ingest_deployment_statuses(deployment, [old_rest, old_graphql])  # before node ids: rows without one
    assert set(DeploymentStatus.objects.values_list("node_id", flat=True)) == {None}

    ingest_deployment_statuses(deployment, [{**old_rest, "node_id": "DES_a"}])  # REST again, now with node ids
    from_graphql = {"node_id": "DES_b", "state": "success", "created_at": "2030-01-01T00:05:00Z"}
    ingest_deployment_statuses(deployment, [from_graphql, {**from_graphql}])  # GraphQL: no database id
    rows = sorted(DeploymentStatus.objects.values_list("github_id", "node_id", "state"))
    assert rows == [(11, "DES_a", "in_progress"), (12, "DES_b", "success")]
    ingest_deployment_statuses(
        deployment, [{"node_id": "DES_c", "state": "inactive", "created_at": "2030-01-02T00:00:00Z"}]
    )
    assert DeploymentStatus.objects.get(node_id="DES_c").github_id is None
    deployment.refresh_from_db()
    assert deployment.state == "inactive"


def test_a_deployment_from_graphql_keeps_what_rest_said_that_graphql_does_not():
    deployment_payload = _example("deployment")
    repository = _repository(deployment_payload)
    rest = {**deployment_payload["deployment"], "ref": "v1.2.0", "production_environment": True}
    ingest_deployments(repository, [rest])
    graphql_view = {
        k: v for k, v in rest.items() if k not in ("ref", "production_environment", "transient_environment")
    }
    ingest_deployments(repository, [{**graphql_view, "updated_at": "2031-01-01T00:00:00Z"}])
    stored = Deployment.objects.get(github_id=rest["id"])
    assert (stored.ref, stored.production_environment) == ("v1.2.0", True)
