"""The webhook endpoint: verified, stored before it answers, processed at most once, every real payload taken."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from delivery.github.models import (
    Branch,
    Commit,
    Deployment,
    DeploymentStatus,
    PullRequest,
    Repository,
    Review,
    Tag,
    WebhookDelivery,
    WorkflowRun,
)
from delivery.github.webhook_handlers import why_ignored
from delivery.github.webhooks import (
    deliveries_sweep,
    delivery_claim,
    delivery_process,
    delivery_replay,
    signature_for,
)
from tests.github.webhook_helpers import EXAMPLES, example, example_files, post_delivery, sign

pytestmark = pytest.mark.django_db
Outcome = WebhookDelivery.Outcome


def process(delivery_id: int) -> str:
    return delivery_process(delivery_id=delivery_id, client_factory=lambda: None)


@pytest.fixture(autouse=True)
def _any_owner(settings: Any) -> None:
    """GitHub's examples belong to several owners; follow whatever a signed delivery names."""
    settings.GITHUB_ORG = ""
    settings.GITHUB_TOKEN = ""


# -- the signature ----------------------------------------------------------------------------------------------
def test_signature_matches_githubs_documented_test_vector() -> None:
    assert (
        signature_for("It's a Secret to Everybody", b"Hello, World!")
        == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


@pytest.mark.parametrize(
    "signature",
    ["", "sha256=" + "0" * 64, sign(b'{"zen": "x"}', "another-secret"), "sha1=0123"],
    ids=["missing", "wrong", "other-secret", "sha1-only"],
)
def test_bad_signature_is_401_and_nothing_is_stored(client: Any, signature: str) -> None:
    response = post_delivery(client, "ping", {"zen": "x"}, signature=signature)
    assert response.status_code == 401
    assert "X-Hub-Signature-256" in response.json()["message"]
    assert not WebhookDelivery.objects.exists()


def test_body_over_25_mb_is_413(client: Any) -> None:
    body = b'{"a": "' + b"x" * (25 * 1024 * 1024) + b'"}'
    response = post_delivery(client, "push", body)
    assert response.status_code == 413
    assert not WebhookDelivery.objects.exists()


def test_signed_body_that_is_not_json_is_400(client: Any) -> None:
    response = post_delivery(client, "push", b"not json at all")
    assert response.status_code == 400
    assert "not JSON" in response.json()["message"]
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize("header", ["X-GitHub-Event", "X-GitHub-Delivery"])
def test_missing_github_header_is_400(client: Any, header: str) -> None:
    response = post_delivery(client, "push", {"zen": "x"}, headers={header: ""})
    assert response.status_code == 400
    assert header in response.json()["message"]
    assert not WebhookDelivery.objects.exists()


def test_webhooks_are_refused_when_no_secret_is_configured(client: Any, settings: Any) -> None:
    settings.GITHUB_WEBHOOK_SECRET = ""
    response = post_delivery(client, "ping", {"zen": "x"}, secret="")
    assert response.status_code == 503


# -- storing and acknowledging -------------------------------------------------------------------------------------
def test_ping_answers_200(client: Any) -> None:
    response = post_delivery(client, "ping", example("ping", "payload.json"))
    assert response.status_code == 200
    assert WebhookDelivery.objects.get().event == "ping"


def test_unknown_event_and_unknown_action_are_acknowledged_and_recorded_as_ignored(client: Any) -> None:
    star = post_delivery(client, "star", example("star", "created.payload.json"))
    labeled = post_delivery(client, "pull_request", example("pull_request", "labeled.payload.json"))
    made_up = post_delivery(client, "no_such_event", {"action": "whatever"})
    assert [r.status_code for r in (star, labeled, made_up)] == [200, 200, 200]
    outcomes = dict(WebhookDelivery.objects.values_list("event", "outcome"))
    assert outcomes == {"star": Outcome.IGNORED, "pull_request": Outcome.IGNORED, "no_such_event": Outcome.IGNORED}
    assert "labeled" in WebhookDelivery.objects.get(event="pull_request").result
    assert not PullRequest.objects.exists()


def test_valid_delivery_is_stored_with_its_raw_body_and_queued_on_commit(
    client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    body = json.dumps(example("pull_request", "opened.payload.json"), indent=1).encode()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_delivery(client, "pull_request", body, guid="guid-1")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    delivery = WebhookDelivery.objects.get(guid="guid-1")
    assert (delivery.event, delivery.action, delivery.outcome) == ("pull_request", "opened", Outcome.PENDING)
    assert bytes(delivery.body) == body
    assert delivery.repository_full_name == "Codertocat/Hello-World"
    assert delivery.hook_id == 42
    assert delivery.queued_at is not None
    assert len(callbacks) == 1  # the task is queued only once the row is committed
    assert not PullRequest.objects.exists()  # the answer did not wait for processing


def test_form_encoded_delivery_is_taken_like_a_json_one(client: Any) -> None:
    """A hook left on GitHub's default `form` content type posts `payload=<JSON>`, signed as sent."""
    payload = example("pull_request", "opened.payload.json")
    body = urlencode({"payload": json.dumps(payload)}).encode()
    response = client.post(
        "/webhooks/github/",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers={"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "form-1", "X-Hub-Signature-256": sign(body)},
    )
    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get(guid="form-1")
    assert process(delivery.pk) == Outcome.PROCESSED
    assert PullRequest.objects.get().number == payload["number"]


# -- at most once ---------------------------------------------------------------------------------------------------
def test_duplicate_delivery_is_processed_once(client: Any) -> None:
    payload = example("pull_request", "opened.payload.json")
    first = post_delivery(client, "pull_request", payload, guid="same")
    delivery = WebhookDelivery.objects.get(guid="same")
    assert process(delivery.pk) == Outcome.PROCESSED
    assert process(delivery.pk) == "skipped"
    again = post_delivery(client, "pull_request", payload, guid="same")
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["status"] == "duplicate"
    delivery.refresh_from_db()
    assert (WebhookDelivery.objects.count(), delivery.attempts, delivery.outcome) == (1, 1, Outcome.PROCESSED)
    assert PullRequest.objects.count() == 1


def test_redelivery_of_a_failed_delivery_is_processed_again(client: Any) -> None:
    payload = example("pull_request", "opened.payload.json")
    broken = {k: v for k, v in payload.items() if k != "pull_request"}
    post_delivery(client, "pull_request", broken, guid="g")
    delivery = WebhookDelivery.objects.get(guid="g")
    assert process(delivery.pk) == Outcome.FAILED
    delivery.refresh_from_db()
    assert "KeyError" in delivery.error and "pull_request" in delivery.error
    # GitHub's redelivery carries the same GUID (and here, the same broken body: it fails again, visibly).
    response = post_delivery(client, "pull_request", broken, guid="g")
    assert response.status_code == 202 and response.json()["status"] == "requeued"
    assert process(delivery.pk) == Outcome.FAILED
    delivery.refresh_from_db()
    assert delivery.attempts == 2


def test_two_copies_at_once_claim_the_delivery_once(client: Any) -> None:
    post_delivery(client, "pull_request", example("pull_request", "opened.payload.json"), guid="race")
    delivery = WebhookDelivery.objects.get(guid="race")
    assert delivery_claim(delivery.pk) is True
    assert delivery_claim(delivery.pk) is False  # the second worker sees it taken
    assert process(delivery.pk) == "skipped"


def test_a_delivery_stuck_processing_on_a_dead_worker_is_claimed_again(client: Any) -> None:
    post_delivery(client, "pull_request", example("pull_request", "opened.payload.json"), guid="stuck")
    delivery = WebhookDelivery.objects.get(guid="stuck")
    assert delivery_claim(delivery.pk, now=timezone.now() - timedelta(hours=1))
    assert process(delivery.pk) == Outcome.PROCESSED
    assert PullRequest.objects.count() == 1


def test_replay_processes_a_failed_delivery_from_its_stored_body(client: Any) -> None:
    post_delivery(client, "deployment", {"action": "created", "repository": {"id": 1}}, guid="bad")
    delivery = WebhookDelivery.objects.get(guid="bad")
    assert process(delivery.pk) == Outcome.FAILED
    assert delivery_replay(delivery_id=delivery.pk) is True
    assert delivery_replay(delivery_id=delivery.pk) is False  # already pending: a double click replays once
    delivery.refresh_from_db()
    assert delivery.outcome == Outcome.PENDING and delivery.error == ""


def test_sweep_queues_deliveries_the_broker_did_not_take(client: Any) -> None:
    post_delivery(client, "pull_request", example("pull_request", "opened.payload.json"), guid="unqueued")
    post_delivery(client, "pull_request", example("pull_request", "closed.payload.json"), guid="queued")
    WebhookDelivery.objects.filter(guid="unqueued").update(queued_at=None)
    assert deliveries_sweep() == 1
    assert WebhookDelivery.objects.get(guid="unqueued").queued_at is not None


# -- every real payload -------------------------------------------------------------------------------------------
def _rows_for(event: str, payload: dict[str, Any]) -> None:
    """The rows a handled example must leave behind."""
    action = payload.get("action", "")
    repo = payload.get("repository") or {}
    if event == "pull_request":
        pr = payload["pull_request"]
        stored = PullRequest.objects.get(github_id=pr["id"])
        assert (stored.number, stored.state, stored.head_sha) == (pr["number"], pr["state"], pr["head"]["sha"])
        assert stored.repository.github_id == repo["id"]
        if action == "ready_for_review":
            assert stored.ready_at is not None
    elif event == "pull_request_review":
        review = Review.objects.get(github_id=payload["review"]["id"])
        assert review.state == payload["review"]["state"].upper()
        assert review.pull_request.github_id == payload["pull_request"]["id"]
    elif event == "push":
        ref: str = payload["ref"]
        name = ref.split("/", 2)[2]
        if ref.startswith("refs/tags/"):
            assert Tag.objects.filter(name=name).exists() is not payload["deleted"]
        else:
            branch = Branch.objects.get(name=name, repository__github_id=repo["id"])
            assert branch.head_sha == payload["after"]
            shas = {c["id"] for c in payload["commits"]}
            assert set(Commit.objects.filter(sha__in=shas).values_list("sha", flat=True)) == shas
    elif event == "create":
        if payload["ref_type"] == "tag":
            assert Tag.objects.get(name=payload["ref"]).created_at is not None
        else:
            assert Branch.objects.filter(name=payload["ref"]).exists()
    elif event == "delete":
        if payload["ref_type"] == "tag":
            assert not Tag.objects.filter(name=payload["ref"]).exists()
        else:
            assert Branch.objects.get(name=payload["ref"]).is_deleted
    elif event == "deployment":
        deployment = Deployment.objects.get(github_id=payload["deployment"]["id"])
        assert (deployment.sha, deployment.environment) == (
            payload["deployment"]["sha"],
            payload["deployment"]["environment"],
        )
    elif event == "deployment_status":
        status = DeploymentStatus.objects.get(github_id=payload["deployment_status"]["id"])
        assert status.deployment.github_id == payload["deployment"]["id"]
        assert status.deployment.state == payload["deployment_status"]["state"]
    elif event == "workflow_run":
        run = WorkflowRun.objects.get(github_id=payload["workflow_run"]["id"])
        assert (run.status, run.head_sha) == (payload["workflow_run"]["status"], payload["workflow_run"]["head_sha"])
    elif event == "release":
        assert Tag.objects.filter(name=payload["release"]["tag_name"]).exists()
    elif event == "repository" and action != "deleted":
        stored = Repository.objects.get(github_id=repo["id"])
        assert stored.full_name == repo["full_name"]
        assert stored.archived == repo.get("archived", False)


EXAMPLE_FILES = example_files()


def test_every_example_event_is_there() -> None:
    assert len(EXAMPLE_FILES) > 250  # ../shared/github/webhook-examples is present and read


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[str(p.relative_to(EXAMPLES)) for p in EXAMPLE_FILES])
def test_every_github_example_payload_is_taken(client: Any, path: Path) -> None:
    event = path.parent.name
    payload = json.loads(path.read_text())
    response = post_delivery(client, event, path.read_bytes())
    assert response.status_code < 300, response.content
    delivery = WebhookDelivery.objects.get()
    if delivery.outcome == Outcome.PENDING:
        outcome = process(delivery.pk)
        delivery.refresh_from_db()
        assert outcome in (Outcome.PROCESSED, Outcome.IGNORED), delivery.error
    handled = not why_ignored(event, payload.get("action", "") if isinstance(payload.get("action"), str) else "")
    if handled:
        _rows_for(event, payload)
    else:
        assert delivery.outcome == Outcome.IGNORED


def test_the_same_example_applied_twice_changes_nothing(client: Any) -> None:
    payload = example("deployment_status", "payload.json")
    for guid in ("a", "b"):  # two distinct deliveries of the same object
        post_delivery(client, "deployment_status", payload, guid=guid)
        process(WebhookDelivery.objects.get(guid=guid).pk)
    assert (Deployment.objects.count(), DeploymentStatus.objects.count()) == (1, 1)
