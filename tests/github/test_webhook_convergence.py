"""Deliveries converge: any order of a set of deliveries, with duplicates, leaves the same database as the
set applied in the order GitHub sent it, and the same mirror as a sync of the same history.

The deliveries are the simulator's own: a synced organization keeps working for a while (live ticks, the
clock moving two minutes a tick) and its organization webhook delivers every change, signed, to a
collecting server. Each ordering is applied inside a savepoint that is rolled back afterwards."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pprint import pformat
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from delivery.github.client import GitHubClient
from delivery.github.models import Branch, DeploymentStatus, PullRequest, Tag, WebhookDelivery
from delivery.github.webhooks import delivery_process, delivery_receive
from delivery.simulator.server import SimulatorServer
from tests.conftest import live_ticks, mirror_snapshot, simulator_client, sync_all
from tests.github.webhook_helpers import SECRET, sign

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Delivery:
    event: str
    guid: str
    body: bytes


class _Collector(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.bad_signatures = 0
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("X-Hub-Signature-256") != sign(body, SECRET):
            self.server.bad_signatures += 1
        self.server.deliveries.append(Delivery(self.headers["X-GitHub-Event"], self.headers["X-GitHub-Delivery"], body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[_Collector]:
    server = _Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def history(github: SimulatorServer, collector: _Collector, gh_client: GitHubClient) -> list[Delivery]:
    """Sync the organization, then let it work for a while with the webhook delivering to `collector`."""
    world = github.world
    world.frozen_clock = world.clock()
    sync_all(gh_client, world.org_login)
    gh_client.post(
        f"/orgs/{world.org_login}/hooks",
        {
            "name": "web",
            "events": ["*"],
            "config": {"url": f"http://127.0.0.1:{collector.server_port}/", "secret": SECRET, "content_type": "json"},
        },
    )
    live_ticks(world, 14)
    github.webhooks.flush(timeout=30)
    deliveries = [d for d in collector.deliveries if d.event != "ping"]
    assert collector.bad_signatures == 0
    assert {"pull_request", "push", "deployment_status", "workflow_run"} <= {d.event for d in deliveries}
    return deliveries


def _apply(deliveries: list[Delivery], simulator: SimulatorServer | None) -> None:
    """Receive and process each delivery in this order; with `simulator`, the handlers also read GitHub."""
    for d in deliveries:
        receipt = delivery_receive(guid=d.guid, event=d.event, body=d.body)
        if receipt.status in ("queued", "requeued"):
            outcome = delivery_process(
                delivery_id=receipt.delivery_id,
                client_factory=(lambda: simulator_client(simulator)) if simulator is not None else (lambda: None),
            )
            assert outcome in ("processed", "ignored"), WebhookDelivery.objects.get(pk=receipt.delivery_id).error


def _webhook_only() -> dict[str, list[Any]]:
    """What only webhooks tell (branches, tag creation times, ready-for-review times)."""
    return {
        "branches": sorted(
            Branch.objects.values_list("repository__github_id", "name", "first_seen_at", "deleted_at", "head_sha")
        ),
        "tag_times": sorted(
            Tag.objects.values_list("repository__github_id", "name", "created_at", "last_pushed_at", "deleted_at")
        ),
        "ready_at": sorted(PullRequest.objects.values_list("github_id", "ready_at")),
    }


def _state() -> dict[str, Any]:
    snapshot = mirror_snapshot()
    # The sync's own bookkeeping (which PRs had their reviews and commits re-read) is not part of the state.
    snapshot["pull_requests"] = [row[:-1] for row in snapshot["pull_requests"]]
    # GitHub sends no webhook when a deployment turns `inactive` (a newer one succeeded, a preview was torn
    # down): only the sync sees those statuses, so the comparison leaves them out, and a deployment's state
    # is its latest other status.
    snapshot["deployment_statuses"] = [row for row in snapshot["deployment_statuses"] if row[2] != "inactive"]
    latest: dict[int, tuple[str, Any]] = {}
    for deployment, state, at in (
        DeploymentStatus.objects.exclude(state="inactive")
        .order_by("deployment__github_id", "created_at", "github_id")
        .values_list("deployment__github_id", "state", "created_at")
    ):
        latest[deployment] = (state, at)
    snapshot["deployments"] = [(*row[:4], *latest.get(row[0], ("", None)), *row[6:]) for row in snapshot["deployments"]]
    return snapshot


def _differences(a: dict[str, list[Any]], b: dict[str, list[Any]]) -> dict[str, Any]:
    """Per table, the rows only on one side (empty when the states are equal)."""
    out = {}
    for table in sorted(set(a) | set(b)):
        left, right = set(a.get(table, [])), set(b.get(table, []))
        if left != right:
            out[table] = {
                "only left": sorted(left - right, key=repr)[:5],
                "only right": sorted(right - left, key=repr)[:5],
            }
    return out


def _in_savepoint(work: Any) -> Any:
    savepoint = transaction.savepoint()
    try:
        work()
        return _state(), _webhook_only()
    finally:
        transaction.savepoint_rollback(savepoint)


@pytest.mark.parametrize("reads_github", [True, False], ids=["with-api-reads", "payloads-only"])
def test_deliveries_in_any_order_with_duplicates_converge(
    history: list[Delivery], github: SimulatorServer, reads_github: bool
) -> None:
    """With the API reads (PR details, commit parents), and without them: reads return GitHub's latest state,
    which could hide an ordering bug in the payload path, so that path is checked on its own too."""
    api = github if reads_github else None
    in_order, in_order_extra = _in_savepoint(lambda: _apply(history, api))

    @hypothesis_settings(
        max_examples=10,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        order=st.permutations(range(len(history))),
        duplicated=st.lists(st.integers(0, len(history) - 1), max_size=10),
    )
    def any_order(order: list[int], duplicated: list[int]) -> None:
        shuffled = [history[i] for i in order]
        for position, i in enumerate(duplicated):  # a duplicate lands somewhere after the first copy... or before
            shuffled.insert((position * 7919) % (len(shuffled) + 1), history[i])
        state, extra = _in_savepoint(lambda: _apply(shuffled, api))
        differences = _differences(state, in_order) or _differences(extra, in_order_extra)
        assert not differences, pformat(differences)

    any_order()
    if not reads_github:
        return
    synced, _ = _in_savepoint(lambda: sync_all(simulator_client(github), github.world.org_login))
    # GraphQL gives no ref for a deployment whose branch is gone: a sync from nothing stores none where the webhook
    # said it (the one difference the issue allows), and only for branches GitHub no longer has.
    said = {row[0]: row[3] for row in in_order["deployments"]}
    unsaid = {said[row[0]] for row in synced["deployments"] if row[3] == "" and said.get(row[0])}
    assert not unsaid & {name for repo in github.world.served_repos for name in (*repo.branches, *repo.tags)}
    synced["deployments"] = [
        (*row[:3], said.get(row[0], "") if row[3] == "" else row[3], *row[4:]) for row in synced["deployments"]
    ]
    differences = _differences(in_order, synced)
    assert not differences, pformat(differences)  # webhooks and the sync end identical
