"""The webhook endpoint: verified, stored before it answers, processed at most once, every real payload taken."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from delivery.github import webhooks
from delivery.github.ingest_refs import (
    ingest_branch_deleted,
    ingest_branch_seen,
    ingest_tag_created,
    ingest_tag_deleted,
)
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
from delivery.github.webhook_handlers import WEBHOOK_EVENTS, why_ignored
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
    assert delivery_claim(delivery.pk) is not None
    assert delivery_claim(delivery.pk) is None  # the second worker sees it taken
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
            assert Tag.objects.get(name=name).is_deleted is payload["deleted"]
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
            assert Tag.objects.get(name=payload["ref"]).is_deleted
            assert not Tag.objects.alive().filter(name=payload["ref"]).exists()
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
        assert Tag.objects.filter(name=payload["release"]["tag_name"]).exists() is not payload["release"]["draft"]
    elif event == "repository" and action != "deleted":
        stored = Repository.objects.get(github_id=repo["id"])
        assert stored.full_name == repo["full_name"]
        assert stored.archived == repo.get("archived", False)


EXAMPLE_FILES = example_files()


def test_every_example_event_is_there() -> None:
    assert len(EXAMPLE_FILES) > 250  # tests/fixtures/github/webhook-examples is present and read


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


# -- a claim is a token; a payload that kills its worker is given up on ----------------------------------------------
def test_a_worker_whose_claim_was_taken_over_writes_nothing(client: Any, monkeypatch: Any) -> None:
    post_delivery(client, "pull_request", example("pull_request", "opened.payload.json"), guid="slow")
    delivery = WebhookDelivery.objects.get(guid="slow")
    real_handle = webhooks.handle

    def handle_while_the_sweep_reclaims(ctx: Any) -> str:
        result = real_handle(ctx)
        # This worker took too long: another one has claimed the delivery in the meantime.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(processing_started_at=timezone.now() + timedelta(1))
        return result

    monkeypatch.setattr(webhooks, "handle", handle_while_the_sweep_reclaims)
    assert process(delivery.pk) == "skipped"
    assert not PullRequest.objects.exists()  # its writes were rolled back with the lost claim
    assert WebhookDelivery.objects.get(pk=delivery.pk).outcome == Outcome.PROCESSING  # the other worker's


def test_a_delivery_that_kills_its_worker_every_time_is_given_up_on(client: Any) -> None:
    post_delivery(client, "pull_request", example("pull_request", "opened.payload.json"), guid="poison")
    long_ago = timezone.now() - timedelta(hours=1)
    WebhookDelivery.objects.filter(guid="poison").update(
        outcome=Outcome.PROCESSING,
        processing_started_at=long_ago,
        claim_heartbeat_at=long_ago,
        attempts=webhooks.MAX_ATTEMPTS,
    )
    delivery = WebhookDelivery.objects.get(guid="poison")
    assert delivery_claim(delivery.pk) is None
    deliveries_sweep()
    delivery.refresh_from_db()
    assert delivery.outcome == Outcome.FAILED
    assert f"gave up after {webhooks.MAX_ATTEMPTS} attempts" in delivery.error


@pytest.mark.parametrize(
    ("attempts", "worth"),
    [
        ([{"status_code": 0}], True),
        ([{"status_code": 502}, {"status_code": 0, "redelivery": True}], True),
        ([{"status_code": 0}, {"status_code": 202, "redelivery": True}], False),
        ([{"status_code": 401}], False),  # our deliberate "no": the same answer again
        ([{"status_code": 413}], False),
        ([{"status_code": 0}] + [{"status_code": 0, "redelivery": True}] * webhooks.MAX_REDELIVERIES, False),
    ],
)
def test_only_deliveries_that_never_reached_trunkline_are_redelivered(attempts: list[Any], worth: bool) -> None:
    assert webhooks._worth_redelivering(attempts) is worth


def test_organization_webhook_does_not_subscribe_to_app_only_events() -> None:
    assert "installation" not in WEBHOOK_EVENTS and "installation_repositories" not in WEBHOOK_EVENTS
    assert {"pull_request", "pull_request_review", "push", "deployment_status", "workflow_run"} <= set(WEBHOOK_EVENTS)


def test_signature_header_with_non_ascii_characters_is_a_401_not_a_500(client: Any) -> None:
    response = post_delivery(client, "ping", {"zen": "x"}, signature="sha256=é" + "0" * 63)
    assert response.status_code == 401


def test_tag_and_branch_events_in_any_order_end_the_same() -> None:
    """A tag created, moved and deleted, a branch created, pushed and deleted: every order of the events
    leaves the same rows (first times only move earlier, last times later; deletions are kept, not lost)."""
    repository = Repository.objects.create(github_id=1, owner="acme", name="api", full_name="acme/api")
    t = [timezone.now() + timedelta(minutes=i) for i in range(4)]
    events = [
        lambda: ingest_tag_created(repository, name="v1", at=t[0]),
        lambda: ingest_tag_created(repository, name="v1", at=t[0], sha="a" * 40),
        lambda: ingest_tag_created(repository, name="v1", at=t[1], sha="b" * 40),
        lambda: ingest_tag_deleted(repository, name="v1", at=t[2]),
        lambda: ingest_branch_seen(repository, name="feature", at=t[0]),
        lambda: ingest_branch_seen(repository, name="feature", at=t[1], head_sha="c" * 40, before="0" * 40),
        lambda: ingest_branch_seen(repository, name="feature", at=t[1], head_sha="d" * 40, before="c" * 40),
        lambda: ingest_branch_deleted(repository, name="feature", at=t[3]),
    ]
    states = set()
    for order in itertools.permutations(range(len(events)), len(events)):
        if len(states) > 1 or hash(order) % 97:  # a sample of the 40,320 orders, and stop at the first split
            continue
        Tag.objects.all().delete()
        Branch.objects.all().delete()
        for i in order:
            events[i]()
        tag = Tag.objects.values_list("sha", "created_at", "last_pushed_at", "deleted_at").get()
        branch = Branch.objects.values_list("head_sha", "first_seen_at", "head_updated_at", "deleted_at").get()
        states.add((tag, branch))
    assert len(states) == 1
    (sha, created, pushed, deleted), (head, first_seen, head_at, branch_deleted) = states.pop()
    assert (sha, created, pushed, deleted) == ("b" * 40, t[0], t[1], t[2])
    assert (head, first_seen, head_at, branch_deleted) == ("d" * 40, t[0], t[1], t[3])
    assert Tag.objects.get().is_deleted and Branch.objects.get().is_deleted


def test_a_rate_limited_read_from_github_leaves_the_delivery_processed_and_the_rest_to_the_sync(
    client: Any, github: Any, settings: Any
) -> None:
    settings.GITHUB_ORG = ""  # the example's repository, read through the simulator's API
    github.faults.add(kind="primary_rate_limit", count=50)
    payload = example("pull_request", "opened.payload.json")
    post_delivery(client, "pull_request", payload, guid="limited")
    delivery = WebhookDelivery.objects.get(guid="limited")
    assert delivery_process(delivery_id=delivery.pk) == Outcome.PROCESSED  # with the configured API client
    delivery.refresh_from_db()
    assert "left to the sync" in delivery.result and "rate limit" in delivery.result.lower()
    pull_request = PullRequest.objects.get()
    assert pull_request.details_synced_for is None  # so the next sync reads its reviews and commits


def test_a_handled_event_without_a_usable_repository_is_failed_not_ignored(client: Any) -> None:
    post_delivery(
        client, "pull_request", {"action": "opened", "pull_request": "oops", "repository": {"full_name": "a/b"}}
    )
    delivery = WebhookDelivery.objects.get()
    assert process(delivery.pk) == Outcome.FAILED
    delivery.refresh_from_db()
    assert "no repository with an id" in delivery.error


def test_a_json_body_sent_as_a_form_is_still_read(client: Any) -> None:
    payload = example("pull_request", "opened.payload.json")
    body = json.dumps(payload).encode()
    response = client.post(
        "/webhooks/github/",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers={"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "curl-1", "X-Hub-Signature-256": sign(body)},
    )
    assert response.status_code == 202
