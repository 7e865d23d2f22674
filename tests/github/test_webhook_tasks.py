"""Webhook processing through a real Celery worker, and a broker that is down when deliveries arrive."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from django.db import connection

from delivery.github.models import Deployment, PullRequest, WebhookDelivery
from delivery.github.webhooks import deliveries_sweep, delivery_process
from delivery.simulator.server import SimulatorServer
from tests.conftest import ROOT, _database_url, log_path, wait_for
from tests.github.webhook_helpers import example, post_delivery, sign

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
Outcome = WebhookDelivery.Outcome


def _of_acme(payload: dict[str, Any]) -> dict[str, Any]:
    """GitHub's example, moved into the organization the worker follows (the simulator's `acme`)."""
    repository = payload["repository"]
    repository["owner"]["login"] = "acme"
    repository["full_name"] = f"acme/{repository['name']}"
    return payload


def test_worker_processes_a_delivery_queued_by_the_endpoint(
    client: Any, celery_worker: subprocess.Popen[bytes], github: SimulatorServer
) -> None:
    payload = _of_acme(example("deployment_status", "payload.json"))
    response = post_delivery(client, "deployment_status", payload, guid="via-worker")
    assert response.status_code == 202
    delivery = wait_for(
        lambda: WebhookDelivery.objects.filter(guid="via-worker").exclude(outcome=Outcome.PENDING).first(),
        what="the worker to process the delivery",
    )
    wait_for(lambda: WebhookDelivery.objects.get(pk=delivery.pk).outcome == Outcome.PROCESSED, what="processed")
    deployment = Deployment.objects.get(github_id=payload["deployment"]["id"])
    assert deployment.state == payload["deployment_status"]["state"]


@pytest.fixture
def web_without_broker() -> Iterator[str]:
    """Trunkline's web process (gunicorn) on this test's database, with a broker address nobody listens on. Its
    socket is opened here and handed over (fd://), so no other process on the machine can take the port first."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    env = {**os.environ, "DATABASE_URL": _database_url(), "REDIS_URL": "redis://127.0.0.1:1/0"}
    log = open(log_path(f"web-{port}.log"), "wb")  # noqa: SIM115 - closed below
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "delivery.wsgi", "-b", f"fd://{listener.fileno()}", "-w", "1"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        pass_fds=(listener.fileno(),),
    )
    listener.close()  # gunicorn's now
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:  # serving: the health check answers, and says the broker is down
        try:
            health = requests.get(url + "/healthz", timeout=10)
        except requests.RequestException:
            return False
        return health.status_code == 503 and health.json()["checks"]["broker"] == "failing"

    try:
        wait_for(up, timeout=60, what="gunicorn to start")
        yield url
    finally:
        web.terminate()
        web.wait(timeout=20)
        log.close()


def test_deliveries_arriving_while_the_broker_is_down_are_acknowledged_and_processed_once_it_is_back(
    web_without_broker: str, celery_worker: subprocess.Popen[bytes], github: SimulatorServer
) -> None:
    opened = _of_acme(example("pull_request", "opened.payload.json"))
    closed = _of_acme(example("pull_request", "closed.payload.json"))
    guids = []
    for event, payload in (("pull_request", opened), ("pull_request", closed)):
        body = json.dumps(payload).encode()
        guid = str(uuid.uuid4())
        guids.append(guid)
        response = requests.post(
            web_without_broker + "/webhooks/github/",
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-GitHub-Event": event,
                "X-GitHub-Delivery": guid,
                "X-Hub-Signature-256": sign(body),
            },
            timeout=10,
        )
        assert response.status_code == 202, response.text
    stored = WebhookDelivery.objects.filter(guid__in=guids)
    assert stored.count() == 2
    assert set(stored.values_list("outcome", flat=True)) == {Outcome.PENDING}
    assert set(stored.values_list("queued_at", flat=True)) == {None}  # the broker did not take them
    assert not PullRequest.objects.exists()

    # The broker is back (this process's broker is the real one): the periodic sweep queues them.
    assert deliveries_sweep() == 2
    wait_for(lambda: set(stored.values_list("outcome", flat=True)) == {Outcome.PROCESSED}, what="both processed")
    pull_request = PullRequest.objects.get(github_id=closed["pull_request"]["id"])
    assert pull_request.state == "closed"  # the newer copy won, whichever the worker took first
    assert set(stored.values_list("attempts", flat=True)) == {1}


def test_two_copies_arriving_at_the_same_moment_are_stored_once_and_processed_once(live_server: Any) -> None:
    """Two requests with one GUID race through the endpoint, then two workers race for the delivery: the unique
    GUID and the conditional claim (not a check in Python) decide, so exactly one copy is processed."""
    payload = example("pull_request", "opened.payload.json")
    body = json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": "same-moment",
        "X-Hub-Signature-256": sign(body),
    }
    start = threading.Barrier(2)

    def post() -> int:
        start.wait()
        return requests.post(f"{live_server.url}/webhooks/github/", data=body, headers=headers, timeout=10).status_code

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(lambda _: post(), range(2)))
    assert statuses == [200, 202]  # one stored and queued, one acknowledged as a duplicate
    delivery = WebhookDelivery.objects.get(guid="same-moment")

    claim = threading.Barrier(2)

    def process() -> str:
        claim.wait()
        try:
            return delivery_process(delivery_id=delivery.pk, client_factory=lambda: None)
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(lambda _: process(), range(2)))
    assert outcomes == [Outcome.PROCESSED, "skipped"]
    assert PullRequest.objects.count() == 1
    assert WebhookDelivery.objects.get(pk=delivery.pk).attempts == 1
