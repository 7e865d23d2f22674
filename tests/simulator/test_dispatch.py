"""The simulated deployment system, driven as Trunkline drives GitHub: a dispatched rollback workflow, a deployment
created through the API, the faults a test puts in their way, and finding the dispatched run afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from delivery.simulator.dispatch import dispatch
from delivery.simulator.models import Repository
from delivery.simulator.render import iso
from delivery.simulator.runner import add_arguments
from delivery.simulator.server import SimulatorServer
from delivery.simulator.world import World

from .openapi import errors as openapi_errors
from .receiver import Received, Receiver
from .webhook_schemas import errors as webhook_errors

REPO = "/repos/{owner}/{repo}"
STEP = timedelta(seconds=30)  # with a frozen clock, nothing moves until the test moves it


@pytest.fixture()
def receiver(fresh_server: SimulatorServer, http: requests.Session) -> Iterator[Receiver]:
    """An organization hook for every event on a receiver; the ping is already out of the way."""
    with Receiver() as running:
        hook = {"config": {"url": running.url, "secret": "s", "content_type": "json"}, "events": ["*"]}
        assert http.post(f"{fresh_server.api_url}/orgs/acme/hooks", json=hook).status_code == 201
        fresh_server.webhooks.flush()
        running.requests.clear()
        yield running


@pytest.fixture()
def frozen(fresh_server: SimulatorServer) -> World:
    world = fresh_server.world
    world.dispatch_step_seconds = STEP.total_seconds()
    world.frozen_clock = world.clock()
    return world


def _repo(world: World) -> Repository:
    repo = world.repo("api")
    assert repo is not None
    return repo


def _step(world: World, steps: int = 1) -> None:
    """Let ``steps`` dispatch steps of world time pass, and run what fell due."""
    assert world.frozen_clock is not None
    world.frozen_clock += STEP * steps
    world.advance()


def _events(server: SimulatorServer, receiver: Receiver) -> list[Received]:
    server.webhooks.flush()
    return list(receiver.requests)


def _kinds(received: list[Received]) -> list[tuple[str, str]]:
    return [
        (d.event, d.payload["action"] if d.event != "deployment_status" else d.payload["deployment_status"]["state"])
        for d in received
    ]


def _valid(received: list[Received]) -> None:
    problems = [p for d in received for p in webhook_errors(d.event, d.payload.get("action"), d.payload)]
    assert problems == []


def _get(http: requests.Session, url: str, template: str, **params: Any) -> Any:
    response = http.get(url, params=params)
    assert response.status_code == 200, response.text[:300]
    assert openapi_errors("GET", template, 200, response.json()) == []
    return response.json()


def _target_tag(repo: Repository) -> str:
    """An older tag than what production runs: a rollback target."""
    return list(repo.tags)[-3]


# -- rollback.yml ------------------------------------------------------------------------------------------------
def test_dispatched_rollback_runs_and_deploys_the_tag_step_by_step_with_every_webhook(
    fresh_server: SimulatorServer, frozen: World, http: requests.Session, receiver: Receiver
) -> None:
    api, repo = f"{fresh_server.api_url}/repos/acme/api", _repo(frozen)
    tag = _target_tag(repo)
    live_before = repo.live_deployments["production"][-1]
    dispatched_at = frozen.clock()
    response = http.post(
        f"{api}/actions/workflows/rollback.yml/dispatches",
        json={"ref": tag, "inputs": {"tag": tag, "reason": "errors up"}},
    )
    assert response.status_code == 204 and response.content == b""

    # The app finds its run by listing workflow_dispatch runs created since it dispatched.
    since = f">={iso(dispatched_at)}"
    found = _get(http, f"{api}/actions/workflows/rollback.yml/runs", REPO + "/actions/workflows/{workflow_id}/runs",
                 event="workflow_dispatch", created=since)  # fmt: skip
    assert found["total_count"] == 1
    run = found["workflow_runs"][0]
    assert (run["status"], run["conclusion"], run["head_branch"], run["event"]) == (
        "queued", None, tag, "workflow_dispatch"
    )  # fmt: skip
    everywhere = _get(http, f"{api}/actions/runs", REPO + "/actions/runs", event="workflow_dispatch", created=since)
    assert [r["id"] for r in everywhere["workflow_runs"]] == [run["id"]]
    assert _kinds(_events(fresh_server, receiver)) == [("workflow_run", "requested")]

    _step(frozen)
    assert http.get(run["url"]).json()["status"] == "in_progress"
    deployment = _get(http, f"{api}/deployments", REPO + "/deployments", environment="production", ref=tag)[0]
    assert deployment["created_at"] == iso(dispatched_at + STEP)
    assert deployment["sha"] == repo.tags[tag].sha and deployment["task"] == "deploy"
    assert deployment["payload"] == {"rollback": True, "from": live_before.ref, "reason": "errors up"}
    assert deployment["description"] == f"Rollback to {tag} (from {live_before.ref})"
    assert deployment["production_environment"] is True and deployment["transient_environment"] is False

    _step(frozen)
    _step(frozen)
    statuses = _get(http, deployment["statuses_url"], REPO + "/deployments/{deployment_id}/statuses")
    assert [s["state"] for s in reversed(statuses)] == ["queued", "in_progress", "success"]
    assert statuses[0]["environment_url"] == "https://api.acme.test"
    assert statuses[0]["log_url"] == run["html_url"]
    finished = http.get(run["url"]).json()
    assert (finished["status"], finished["conclusion"]) == ("completed", "success")
    assert finished["updated_at"] == iso(dispatched_at + 3 * STEP)

    received = _events(fresh_server, receiver)
    assert _kinds(received) == [
        ("workflow_run", "requested"),
        ("workflow_run", "in_progress"),
        ("deployment", "created"),
        ("deployment_status", "queued"),
        ("deployment_status", "in_progress"),
        ("deployment_status", "success"),
        ("workflow_run", "completed"),
    ]
    _valid(received)
    assert received[-1].payload["workflow_run"]["conclusion"] == "success"
    assert {d.payload["deployment"]["ref"] for d in received if d.event.startswith("deployment")} == {tag}
    # GitHub's auto_inactive leaves earlier production deployments alone (it covers non-production ones).
    assert live_before.latest_state == "success" and frozen.pending_timers == 0


def test_dispatched_rollback_fails_when_the_switch_says_so(
    fresh_server: SimulatorServer, frozen: World, http: requests.Session, receiver: Receiver
) -> None:
    api, repo = f"{fresh_server.api_url}/repos/acme/api", _repo(frozen)
    tag = _target_tag(repo)
    switched = requests.post(
        f"{fresh_server.url}/_simulator/switches", json={"fail_next_production_deploy": True}, timeout=10
    )
    assert switched.json()["fail_next_production_deploy"] is True
    details = http.post(
        f"{api}/actions/workflows/rollback.yml/dispatches",
        json={"ref": "main", "inputs": {"tag": tag}, "return_run_details": True},
    )
    assert details.status_code == 200
    assert openapi_errors("POST", REPO + "/actions/workflows/{workflow_id}/dispatches", 200, details.json()) == []
    assert frozen.switches["fail_next_production_deploy"] is False  # one-shot, taken at the dispatch

    settled = requests.post(f"{fresh_server.url}/_simulator/timers/settle", timeout=10).json()
    assert settled == {"ran": 3, "pending": 0}  # deployment + queued, in_progress, failure + run completed
    run = http.get(details.json()["run_url"]).json()
    assert (run["status"], run["conclusion"]) == ("completed", "failure")
    deployment = http.get(f"{api}/deployments", params={"ref": tag}).json()[0]
    assert [s["state"] for s in http.get(deployment["statuses_url"]).json()] == ["failure", "in_progress", "queued"]
    received = _events(fresh_server, receiver)
    assert _kinds(received)[-2:] == [("deployment_status", "failure"), ("workflow_run", "completed")]
    assert received[-1].payload["workflow_run"]["conclusion"] == "failure"
    _valid(received)


def test_rollback_of_an_unknown_tag_fails_its_run_without_deploying(
    fresh_server: SimulatorServer, frozen: World, http: requests.Session
) -> None:
    api = f"{fresh_server.api_url}/repos/acme/api"
    deployments = len(_repo(frozen).deployments)
    details = http.post(
        f"{api}/actions/workflows/rollback.yml/dispatches",
        json={"ref": "main", "inputs": {"tag": "v0.0.404"}, "return_run_details": True},
    ).json()
    frozen.settle()
    assert http.get(details["run_url"]).json()["conclusion"] == "failure"
    assert len(_repo(frozen).deployments) == deployments


def test_the_demo_pace_plays_a_rollback_out_in_real_time_without_any_request(
    fresh_server: SimulatorServer, http: requests.Session, receiver: Receiver
) -> None:
    """The server's timer thread moves it on: the app hears every step by webhook, without polling."""
    tag = _target_tag(_repo(fresh_server.world))
    http.post(
        f"{fresh_server.api_url}/repos/acme/api/actions/workflows/rollback.yml/dispatches",
        json={"ref": tag, "inputs": {"tag": tag}},
    )
    received = receiver.wait_for(7, timeout=10)  # 4 steps of 0.05 s
    assert _kinds(received)[-1] == ("workflow_run", "completed")
    assert received[-1].payload["workflow_run"]["conclusion"] == "success"


def test_dispatch_step_seconds_defaults_to_a_few_seconds_on_the_command_line() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args([]).dispatch_step_seconds == 3.0
    assert parser.parse_args(["--dispatch-step-seconds", "0.5"]).dispatch_step_seconds == 0.5


# -- a deployment created through the API ------------------------------------------------------------------------
def _rollback_deployment(tag: str, **extra: Any) -> dict[str, Any]:
    """What Trunkline sends when the repository's rollback method is "deployment"."""
    return {
        "ref": tag,
        "environment": "production",
        "task": "deploy",
        "auto_merge": False,
        "required_contexts": [],
        "production_environment": True,
        "description": f"Rollback to {tag} (Trunkline)",
        "payload": {"trunkline_rollback": 7, "reason": "errors up"},
        **extra,
    }


def test_deployment_created_through_the_api_is_deployed_step_by_step(
    fresh_server: SimulatorServer, frozen: World, http: requests.Session, receiver: Receiver
) -> None:
    api, tag = f"{fresh_server.api_url}/repos/acme/api", _target_tag(_repo(frozen))
    created_at = frozen.clock()
    response = http.post(f"{api}/deployments", json=_rollback_deployment(tag))
    assert response.status_code == 201
    assert openapi_errors("POST", REPO + "/deployments", 201, response.json()) == []
    deployment = response.json()
    assert (deployment["ref"], deployment["task"], deployment["environment"]) == (tag, "deploy", "production")
    assert deployment["payload"] == {"trunkline_rollback": 7, "reason": "errors up"}
    assert _kinds(_events(fresh_server, receiver)) == [("deployment", "created")]

    states = []
    for _ in range(3):
        _step(frozen)
        states.append(http.get(deployment["statuses_url"]).json()[0]["state"])
    assert states == ["queued", "in_progress", "success"]
    final = http.get(deployment["statuses_url"]).json()[0]
    assert final["environment_url"] == "https://api.acme.test"
    assert final["created_at"] == iso(created_at + 3 * STEP)
    received = _events(fresh_server, receiver)
    assert _kinds(received) == [
        ("deployment", "created"),
        ("deployment_status", "queued"),
        ("deployment_status", "in_progress"),
        ("deployment_status", "success"),
    ]
    _valid(received)


def test_api_deployments_fail_by_switch_and_keep_their_flags(
    fresh_server: SimulatorServer, frozen: World, http: requests.Session
) -> None:
    api, tag = f"{fresh_server.api_url}/repos/acme/api", _target_tag(_repo(frozen))
    control = f"{fresh_server.url}/_simulator/switches"
    requests.post(control, json={"fail_next_production_deploy": True, "fail_next_staging_deploy": True}, timeout=10)
    production = http.post(f"{api}/deployments", json=_rollback_deployment(tag)).json()
    staging = http.post(
        f"{api}/deployments",
        json={"ref": "main", "environment": "staging", "transient_environment": True, "production_environment": False},
    ).json()
    assert (staging["transient_environment"], staging["production_environment"]) == (True, False)
    succeeding = http.post(f"{api}/deployments", json=_rollback_deployment(tag)).json()  # the switch is spent
    other_task = http.post(f"{api}/deployments", json={"ref": tag, "task": "deploy:migrations"}).json()
    frozen.settle()
    latest = {d["id"]: http.get(d["statuses_url"]).json() for d in (production, staging, succeeding, other_task)}
    assert latest[production["id"]][0]["state"] == "failure"
    assert latest[staging["id"]][0]["state"] == "failure"
    assert latest[succeeding["id"]][0]["state"] == "success"
    assert latest[other_task["id"]] == []  # no deployment system runs that task here
    assert http.get(f"{api}/deployments/{staging['id']}").json()["transient_environment"] is True


def test_a_client_posting_its_own_statuses_keeps_the_deployment_to_itself(
    fresh_server: SimulatorServer, frozen: World, http: requests.Session
) -> None:
    api, tag = f"{fresh_server.api_url}/repos/acme/api", _target_tag(_repo(frozen))
    deployment = http.post(f"{api}/deployments", json=_rollback_deployment(tag)).json()
    _step(frozen)
    assert http.post(deployment["statuses_url"], json={"state": "error", "description": "by hand"}).status_code == 201
    frozen.settle()
    assert [s["state"] for s in http.get(deployment["statuses_url"]).json()] == ["error", "queued"]


# -- GitHub failing the dispatch ---------------------------------------------------------------------------------
def _fault(server: SimulatorServer, **fault: Any) -> None:
    response = requests.post(f"{server.url}/_simulator/faults", json=fault, timeout=10)
    assert response.status_code == 201, response.text


def test_a_dispatch_answered_500_dispatches_nothing_and_the_retry_works(
    fresh_server: SimulatorServer, frozen: World, http: requests.Session
) -> None:
    url = f"{fresh_server.api_url}/repos/acme/api/actions/workflows/rollback.yml/dispatches"
    _fault(fresh_server, kind="server_error", status=500, method="POST", path_contains="/dispatches")
    body = {"ref": "main", "inputs": {"tag": _target_tag(_repo(frozen))}}
    runs = len(_repo(frozen).runs)
    failed = http.post(url, json=body)
    assert (failed.status_code, failed.json()["message"]) == (500, "Server Error")
    assert len(_repo(frozen).runs) == runs
    assert http.post(url, json=body).status_code == 204
    assert len(_repo(frozen).runs) == runs + 1


def test_a_dispatch_refused_with_422_says_why_then_recovers(
    fresh_server: SimulatorServer, frozen: World, http: requests.Session
) -> None:
    url = f"{fresh_server.api_url}/repos/acme/api/actions/workflows/rollback.yml/dispatches"
    message = "Workflow does not have 'workflow_dispatch' trigger"
    _fault(fresh_server, kind="validation_failed", method="POST", path_contains="rollback.yml/dispatches",
           message=message)  # fmt: skip
    refused = http.post(url, json={"ref": "main", "inputs": {"tag": _target_tag(_repo(frozen))}})
    assert refused.status_code == 422 and refused.json()["message"] == message
    assert openapi_errors("POST", REPO + "/deployments", 422, refused.json()) == []  # GitHub's "Validation Error"
    assert http.post(url, json={"ref": "main", "inputs": {"tag": "v0.1.0"}}).status_code == 204


def test_a_deployment_create_fault_spares_reads_of_the_same_list(
    fresh_server: SimulatorServer, frozen: World, http: requests.Session
) -> None:
    api = f"{fresh_server.api_url}/repos/acme/api"
    _fault(fresh_server, kind="server_error", status=500, method="POST", path_contains="/repos/acme/api/deployments")
    assert http.get(f"{api}/deployments").status_code == 200
    body = _rollback_deployment(_target_tag(_repo(frozen)))
    assert http.post(f"{api}/deployments", json=body).status_code == 500
    assert http.post(f"{api}/deployments", json=body).status_code == 201


def test_a_fault_that_takes_effect_dispatches_although_the_client_sees_a_5xx(
    fresh_server: SimulatorServer, frozen: World, http: requests.Session
) -> None:
    url = f"{fresh_server.api_url}/repos/acme/api/actions/workflows/rollback.yml/dispatches"
    _fault(fresh_server, kind="server_error", method="POST", path_contains="/dispatches", take_effect=True)
    runs = len(_repo(frozen).runs)
    assert http.post(url, json={"ref": "main", "inputs": {"tag": "v0.1.0"}}).status_code == 502
    assert len(_repo(frozen).runs) == runs + 1


def test_fault_fields_are_checked(fresh_server: SimulatorServer) -> None:
    control = f"{fresh_server.url}/_simulator/faults"
    bad = [
        {"kind": "validation_failed", "status": 500},
        {"kind": "server_error", "message": "only for 422s"},
        {"kind": "server_error", "colour": "red"},
    ]
    assert [requests.post(control, json=fault, timeout=10).status_code for fault in bad] == [422, 422, 422]
    assert requests.get(control, timeout=10).json() == {"faults": []}


# -- finding runs ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("created", "expected"),
    [
        (">={t0}", ["second", "first"]),
        (">{t0}", ["second"]),
        ("<={t0}", ["first"]),
        ("<{t0}", []),
        ("{t0}", ["first"]),
        ("{t0}..{t1}", ["second", "first"]),
        ("{t1}..*", ["second"]),
        ("*..{t0}", ["first"]),
        (">={day}", ["second", "first"]),
        ("{day}", ["second", "first"]),
        (">={t0_offset}", ["second", "first"]),
    ],
)
def test_runs_filtered_by_event_and_creation_time(
    fresh_server: SimulatorServer, frozen: World, http: requests.Session, created: str, expected: list[str]
) -> None:
    api = f"{fresh_server.api_url}/repos/acme/api"
    t0: datetime = frozen.clock()
    ids = {}
    for name in ("first", "second"):
        details = http.post(
            f"{api}/actions/workflows/ci.yml/dispatches", json={"ref": "main", "return_run_details": True}
        ).json()
        ids[details["workflow_run_id"]] = name
        frozen.frozen_clock = t0 + timedelta(minutes=1)
    values = {
        "t0": iso(t0),
        "t1": iso(t0 + timedelta(minutes=1)),
        "day": t0.date().isoformat(),
        "t0_offset": (t0 + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S") + "+02:00",
    }
    body = _get(http, f"{api}/actions/workflows/ci.yml/runs", REPO + "/actions/workflows/{workflow_id}/runs",
                event="workflow_dispatch", created=created.format(**values))  # fmt: skip
    assert [ids.get(r["id"], r["id"]) for r in body["workflow_runs"]] == expected
    assert body["total_count"] == len(expected)


def test_run_filters_that_find_nothing_and_ones_github_refuses(
    fresh_server: SimulatorServer, frozen: World, http: requests.Session
) -> None:
    api = f"{fresh_server.api_url}/repos/acme/api"
    details = http.post(
        f"{api}/actions/workflows/ci.yml/dispatches", json={"ref": "main", "return_run_details": True}
    ).json()
    run = http.get(details["run_url"]).json()
    by_suite = http.get(f"{api}/actions/runs", params={"check_suite_id": run["check_suite_id"]}).json()
    assert [r["id"] for r in by_suite["workflow_runs"]] == [run["id"]]
    pushes = http.get(
        f"{api}/actions/workflows/ci.yml/runs", params={"event": "push", "created": f">={run['created_at']}"}
    )
    assert pushes.json() == {"total_count": 0, "workflow_runs": []}
    assert http.get(f"{api}/actions/runs", params={"created": ">=yesterday"}).status_code == 422


def test_settle_moves_a_frozen_clock_to_the_last_step(fresh_server: SimulatorServer, frozen: World) -> None:
    start = frozen.frozen_clock
    assert start is not None
    with frozen.lock:
        repo = _repo(frozen)
        workflow = repo.workflow_by_file("ci.yml")
        assert workflow is not None
        dispatch(frozen, repo, workflow, "main", repo.main_sha, frozen.bot, {}, start)
    timers = requests.get(f"{fresh_server.url}/_simulator/timers", timeout=10).json()
    assert timers == {"pending": 2, "next_due": iso(start + STEP)}
    assert frozen.settle() == 2 and frozen.frozen_clock == start + 3 * STEP
    assert frozen.next_due is None
