"""Webhook delivery: GitHub's headers and signatures, the delivery log API, redelivery and test faults."""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests

from delivery.simulator import ops
from delivery.simulator.runner import add_arguments
from delivery.simulator.server import SimulatorServer
from delivery.simulator.webhooks import signatures

from .receiver import Receiver
from .webhook_schemas import errors

SECRET = "It's a Secret to Everybody"
LINK = re.compile(r'<([^>]+)>; rel="(\w+)"')


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def _hook(server: SimulatorServer, http: requests.Session, url: str, path: str = "/orgs/acme/hooks",
          **body: Any) -> dict[str, Any]:  # fmt: skip
    """Create a hook through the API and let its ping go out."""
    body.setdefault("config", {"url": url, "secret": SECRET, "content_type": "json"})
    body.setdefault("events", ["*"])
    response = http.post(server.api_url + path, json=body)
    assert response.status_code == 201, response.text
    server.webhooks.flush()
    return response.json()


def _new_branches(server: SimulatorServer, *names: str) -> None:
    world = server.world
    with world.lock:
        repo = world.repo("api")
        assert repo is not None
        for name in names:
            ops.create_branch(world, repo, name, repo.main_sha, world.clock(), world.members[0])


def _deliveries(http: requests.Session, server: SimulatorServer, hook_id: int, **params: Any) -> requests.Response:
    return http.get(f"{server.api_url}/orgs/acme/hooks/{hook_id}/deliveries", params=params)


def test_signing_matches_githubs_documented_example() -> None:
    signed = signatures(SECRET, b"Hello, World!")
    assert signed["X-Hub-Signature-256"] == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signed["X-Hub-Signature"] == "sha1=" + hmac.new(SECRET.encode(), b"Hello, World!", "sha1").hexdigest()


def test_a_new_hook_gets_a_signed_ping_with_githubs_headers(
    fresh_server: SimulatorServer, http: requests.Session, receiver: Receiver
) -> None:
    hook = _hook(fresh_server, http, receiver.url)
    (ping,) = receiver.requests
    assert ping.path == "/hooks/github"
    assert set(ping.headers) == {
        "Host", "Content-Length", "Accept", "Content-Type", "User-Agent", "X-GitHub-Delivery", "X-GitHub-Event",
        "X-GitHub-Hook-ID", "X-GitHub-Hook-Installation-Target-ID", "X-GitHub-Hook-Installation-Target-Type",
        "X-Hub-Signature", "X-Hub-Signature-256",
    }  # fmt: skip
    assert ping.headers["Content-Type"] == "application/json"
    assert ping.headers["X-GitHub-Event"] == "ping"
    assert uuid.UUID(ping.guid).version == 4
    assert ping.headers["X-GitHub-Hook-ID"] == str(hook["id"])
    assert ping.headers["X-GitHub-Hook-Installation-Target-Type"] == "organization"
    assert ping.headers["X-GitHub-Hook-Installation-Target-ID"] == str(fresh_server.world.org.id)
    assert re.fullmatch(r"GitHub-Hookshot/[0-9a-f]{7}", ping.headers["User-Agent"])
    digest = hmac.new(SECRET.encode(), ping.body, hashlib.sha256).hexdigest()
    assert ping.headers["X-Hub-Signature-256"] == f"sha256={digest}"
    assert ping.headers["X-Hub-Signature"] == "sha1=" + hmac.new(SECRET.encode(), ping.body, "sha1").hexdigest()
    assert ping.payload["hook_id"] == hook["id"] and ping.payload["hook"]["config"]["secret"] == "********"
    assert b": " not in ping.body, "compact JSON, like GitHub"


def test_a_repository_hook_gets_only_its_repositorys_events_and_no_signature_without_a_secret(
    fresh_server: SimulatorServer, http: requests.Session, receiver: Receiver
) -> None:
    repo = fresh_server.world.repo("api")
    assert repo is not None
    hook = _hook(fresh_server, http, receiver.url, "/repos/acme/api/hooks", events=["create"],
                 config={"url": receiver.url, "content_type": "json"})  # fmt: skip
    other = next(r for r in fresh_server.world.served_repos if r is not repo)
    with fresh_server.world.lock:
        ops.create_branch(fresh_server.world, other, "elsewhere", other.main_sha, fresh_server.world.clock(), None)
    _new_branches(fresh_server, "here")
    fresh_server.webhooks.flush()
    ping, create = receiver.requests
    assert ping.headers["X-GitHub-Hook-Installation-Target-Type"] == "repository"
    assert ping.headers["X-GitHub-Hook-Installation-Target-ID"] == str(repo.id) == str(ping.payload["repository"]["id"])
    assert errors("ping", None, ping.payload) == []
    assert (create.event, create.payload["ref"]) == ("create", "here")
    assert create.headers["X-GitHub-Hook-ID"] == str(hook["id"])
    assert not any(name.startswith("X-Hub-Signature") for name in create.headers)


def test_a_form_hook_gets_githubs_form_encoded_body_signed_as_sent(
    fresh_server: SimulatorServer, http: requests.Session, receiver: Receiver
) -> None:
    _hook(fresh_server, http, receiver.url, config={"url": receiver.url, "secret": SECRET})  # content_type: form
    (ping,) = receiver.requests
    assert ping.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert json.loads(parse_qs(ping.body.decode())["payload"][0])["zen"]
    assert ping.headers["X-Hub-Signature-256"] == signatures(SECRET, ping.body)["X-Hub-Signature-256"]


def test_delivery_runs_in_the_background_and_the_receiver_may_call_the_api_back(
    fresh_server: SimulatorServer, http: requests.Session, receiver: Receiver
) -> None:
    answers: list[int] = []
    release = threading.Event()

    def call_back(_: Any) -> None:  # holds the delivery open, then reads the API while answering
        release.wait(5)
        answers.append(requests.get(f"{fresh_server.api_url}/repos/acme/api", timeout=5).status_code)

    _hook(fresh_server, http, receiver.url, events=["create"])
    receiver.on_request = call_back
    sha = http.get(f"{fresh_server.api_url}/repos/acme/api/git/ref/heads/main").json()["object"]["sha"]
    url = f"{fresh_server.api_url}/repos/acme/api/git/refs"
    response = http.post(url, json={"ref": "refs/heads/fast", "sha": sha}, timeout=3)
    assert response.status_code == 201 and answers == [], "the API answered while the delivery was still open"
    release.set()
    fresh_server.webhooks.flush()
    assert answers == [200]


def test_drop_logs_a_timeout_that_a_redelivery_recovers_with_the_same_guid(
    fresh_server: SimulatorServer, http: requests.Session, receiver: Receiver
) -> None:
    hook = _hook(fresh_server, http, receiver.url, events=["create"])
    fresh_server.webhooks.faults.add(kind="drop", count=1)
    _new_branches(fresh_server, "dropped", "kept")
    fresh_server.webhooks.flush()
    assert [r.payload["ref"] for r in receiver.requests[1:]] == ["kept"]
    kept, dropped = _deliveries(http, fresh_server, hook["id"]).json()[:2]
    assert (dropped["status"], dropped["status_code"], kept["status"], kept["status_code"]) == (
        "timed out", 0, "OK", 200
    )  # fmt: skip
    url = f"{fresh_server.api_url}/orgs/acme/hooks/{hook['id']}/deliveries/{dropped['id']}/attempts"
    assert http.post(url).status_code == 202
    fresh_server.webhooks.flush()
    again = receiver.requests[-1]
    assert again.payload["ref"] == "dropped" and again.guid == dropped["guid"]
    newest = _deliveries(http, fresh_server, hook["id"]).json()[0]
    assert newest["redelivery"] is True and newest["guid"] == dropped["guid"] and newest["id"] > kept["id"]
    detail = http.get(f"{fresh_server.api_url}/orgs/acme/hooks/{hook['id']}/deliveries/{newest['id']}").json()
    assert detail["request"]["payload"]["ref"] == "dropped" and detail["response"]["payload"] == '{"ok": true}'
    assert detail["request"]["headers"]["X-GitHub-Delivery"] == dropped["guid"]


def test_duplicate_sends_twice_with_the_same_guid(
    fresh_server: SimulatorServer, http: requests.Session, receiver: Receiver
) -> None:
    _hook(fresh_server, http, receiver.url, events=["create"])
    fresh_server.webhooks.faults.add(kind="duplicate", count=1)
    _new_branches(fresh_server, "twice", "once")
    fresh_server.webhooks.flush()
    refs = [(r.payload["ref"], r.guid) for r in receiver.requests[1:]]
    assert [ref for ref, _ in refs] == ["twice", "twice", "once"] and refs[0][1] == refs[1][1] != refs[2][1]
    assert fresh_server.webhooks.sent == 4


def test_reorder_sends_the_next_deliveries_in_reverse_and_flush_releases_a_partial_batch(
    fresh_server: SimulatorServer, http: requests.Session, receiver: Receiver
) -> None:
    _hook(fresh_server, http, receiver.url, events=["create"])
    fresh_server.webhooks.faults.add(kind="reorder", count=3)
    _new_branches(fresh_server, "a", "b", "c", "d")
    fresh_server.webhooks.flush()
    assert [r.payload["ref"] for r in receiver.requests[1:]] == ["c", "b", "a", "d"]
    fresh_server.webhooks.faults.add(kind="reorder", count=5)
    _new_branches(fresh_server, "e", "f")
    fresh_server.webhooks.flush()
    assert [r.payload["ref"] for r in receiver.requests[5:]] == ["f", "e"]


def test_paused_deliveries_wait_in_order_and_flush_refuses_while_paused(
    fresh_server: SimulatorServer, http: requests.Session, receiver: Receiver
) -> None:
    _hook(fresh_server, http, receiver.url, events=["create"])
    assert not fresh_server.webhooks.paused()
    with fresh_server.webhooks.paused():
        assert fresh_server.webhooks.paused()
        _new_branches(fresh_server, "one", "two")
        time.sleep(0.1)
        assert len(receiver.requests) == 1 and fresh_server.webhooks.pending == 2
        with pytest.raises(RuntimeError):
            fresh_server.webhooks.flush()
    fresh_server.webhooks.flush()
    assert [r.payload["ref"] for r in receiver.requests[1:]] == ["one", "two"]
    fresh_server.webhooks.pause()
    _new_branches(fresh_server, "three")
    fresh_server.webhooks.resume()
    fresh_server.webhooks.flush()
    assert receiver.requests[-1].payload["ref"] == "three"


def test_an_unreachable_or_failing_receiver_is_logged_as_failed(
    fresh_server: SimulatorServer, http: requests.Session, receiver: Receiver
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    down = _hook(fresh_server, http, f"http://127.0.0.1:{closed_port}/hook")
    (attempt,) = _deliveries(http, fresh_server, down["id"]).json()
    assert (attempt["status"], attempt["status_code"]) == ("failed to connect to host", 0)
    receiver.status = 503
    failing = _hook(fresh_server, http, receiver.url)
    (attempt,) = _deliveries(http, fresh_server, failing["id"]).json()
    assert (attempt["status"], attempt["status_code"]) == ("Invalid HTTP Response: 503", 503)
    detail = http.get(f"{fresh_server.api_url}/orgs/acme/hooks/{failing['id']}/deliveries/{attempt['id']}").json()
    assert detail["response"]["payload"] == "unavailable" and detail["response"]["headers"]["Content-Length"] == "11"


def test_delivery_list_paginates_with_a_cursor_and_filters_by_status(
    fresh_server: SimulatorServer, http: requests.Session, receiver: Receiver
) -> None:
    hook = _hook(fresh_server, http, receiver.url, events=["create"])
    _new_branches(fresh_server, *(f"ok-{i}" for i in range(4)))
    fresh_server.webhooks.flush()
    receiver.status = 500
    _new_branches(fresh_server, *(f"bad-{i}" for i in range(3)))
    fresh_server.webhooks.flush()
    everything = _deliveries(http, fresh_server, hook["id"]).json()
    assert len(everything) == 8 and [d["id"] for d in everything] == sorted((d["id"] for d in everything), reverse=True)
    seen, response = [], _deliveries(http, fresh_server, hook["id"], per_page=3)
    while True:
        seen += response.json()
        links = {rel: url for url, rel in LINK.findall(response.headers.get("Link", ""))}
        if "next" not in links:
            break
        assert re.search(r"\?per_page=3&cursor=v1_\d+$", links["next"])
        response = http.get(links["next"])
    assert seen == everything
    failures = _deliveries(http, fresh_server, hook["id"], status="failure", per_page=2)
    assert [d["status_code"] for d in failures.json()] == [500, 500] and "status=failure" in failures.headers["Link"]
    successes = _deliveries(http, fresh_server, hook["id"], status="success").json()
    assert len(successes) == 5 and {d["status"] for d in successes} == {"OK"}
    assert _deliveries(http, fresh_server, hook["id"], cursor="nonsense").status_code == 400


def test_patching_a_hook_changes_what_is_delivered_and_the_secret_stays_hidden(
    fresh_server: SimulatorServer, http: requests.Session, receiver: Receiver
) -> None:
    hook = _hook(fresh_server, http, receiver.url, events=["create"])
    url = f"{fresh_server.api_url}/orgs/acme/hooks/{hook['id']}"
    shown = http.get(url).json()
    assert shown["config"] == {"url": receiver.url, "content_type": "json", "insecure_ssl": "0", "secret": "********"}
    assert http.patch(url, json={"active": False}).json()["active"] is False
    _new_branches(fresh_server, "while-inactive")
    patched = http.patch(url, json={"active": True, "events": ["delete", "create"],
                                    "config": {"url": receiver.url, "content_type": "json"}})  # fmt: skip
    assert patched.status_code == 200 and "secret" not in patched.json()["config"], "a secret not sent is removed"
    assert patched.json()["events"] == ["delete", "create"]
    _new_branches(fresh_server, "after-patch")
    fresh_server.webhooks.flush()
    assert [r.payload["ref"] for r in receiver.requests[1:]] == ["after-patch"]
    assert "X-Hub-Signature-256" not in receiver.requests[-1].headers
    assert http.patch(url, json={"config": {"content_type": "json"}}).status_code == 422
    assert http.get(f"{fresh_server.api_url}/orgs/acme/hooks/1").status_code == 404
    assert http.get(f"{url}/deliveries/1").status_code == 404
    assert http.post(f"{url}/deliveries/1/attempts").status_code == 404
    repo_hook = _hook(fresh_server, http, receiver.url, "/repos/acme/api/hooks", events=["push"])
    repo_url = f"{fresh_server.api_url}/repos/acme/api/hooks/{repo_hook['id']}"
    changed = http.patch(repo_url, json={"add_events": ["create"], "remove_events": ["push"]}).json()
    assert changed["events"] == ["create"] and http.get(repo_url).json()["config"]["secret"] == "********"


def test_control_endpoints_drive_webhook_faults_flush_and_log(
    fresh_server: SimulatorServer, http: requests.Session, receiver: Receiver
) -> None:
    control = f"{fresh_server.url}/_simulator/webhooks"
    hook = _hook(fresh_server, http, receiver.url, events=["create"])
    assert requests.post(f"{control}/faults", json={"kind": "duplicate", "count": 1}, timeout=5).status_code == 201
    assert requests.get(f"{control}/faults", timeout=5).json() == {"faults": [{"kind": "duplicate", "count": 1}]}
    assert requests.post(f"{control}/faults", json={"kind": "explode"}, timeout=5).status_code == 422
    _new_branches(fresh_server, "twice")
    flushed = requests.post(f"{control}/flush", timeout=15).json()
    assert flushed == {"sent": 3, "pending": 0}
    log = requests.get(f"{control}/log", params={"hook_id": hook["id"]}, timeout=5).json()
    assert [d["event"] for d in log["deliveries"]] == ["ping", "create", "create"]
    assert requests.post(f"{control}/faults", json={"kind": "drop", "count": 2}, timeout=5).status_code == 201
    assert requests.delete(f"{control}/faults", timeout=5).status_code == 204
    assert requests.get(f"{control}/faults", timeout=5).json() == {"faults": []}
    assert requests.post(f"{control}/pause", timeout=5).json()["paused"] is True
    _new_branches(fresh_server, "held")
    assert requests.post(f"{control}/flush", timeout=5).status_code == 409
    assert requests.post(f"{control}/resume", timeout=5).json()["paused"] is False
    assert requests.post(f"{control}/flush", timeout=15).json()["pending"] == 0


def test_log_keeps_three_days_of_world_time(
    fresh_server: SimulatorServer, http: requests.Session, receiver: Receiver
) -> None:
    world = fresh_server.world
    world.frozen_clock = world.clock()
    hook = _hook(fresh_server, http, receiver.url, events=["create"])
    world.frozen_clock += timedelta(days=3, seconds=1)
    _new_branches(fresh_server, "later")
    fresh_server.webhooks.flush()
    assert [d["event"] for d in _deliveries(http, fresh_server, hook["id"]).json()] == ["create"]


def test_webhook_url_option_installs_an_org_hook_for_every_event(receiver: Receiver) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    options = vars(parser.parse_args(["--webhook-url", receiver.url, "--webhook-secret", "s3cret"]))
    assert (options["webhook_url"], options["webhook_secret"]) == (receiver.url, "s3cret")
    from delivery.simulator.generate import generate_world

    from .conftest import NOW

    world = generate_world(seed=3, repos=1, developers=3, weeks=1, now=NOW)
    server = SimulatorServer(world, webhook_url=receiver.url, webhook_secret="s3cret")
    try:
        (hook,) = world.org.hooks.values()
        assert hook.events == ["*"] and hook.config["content_type"] == "json" and hook.config["secret"] == "s3cret"
        server.webhooks.flush()
        assert receiver.events() == ["ping"]
        again = SimulatorServer(world, webhook_url=receiver.url, webhook_secret="s3cret")
        again.stop()
        assert len(world.org.hooks) == 1, "a restart on the same state reuses the hook"
    finally:
        server.stop()
