"""Live activity, dispatched workflows (rollback), and the persisted world."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import requests

from delivery.simulator.generate import generate_world
from delivery.simulator.live import LiveActivity, load_or_generate
from delivery.simulator.server import SimulatorServer

from .conftest import NOW


def _wait(predicate: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_ticks_mutate_the_world_report_events_and_change_list_etags(
    fresh_server: SimulatorServer, http: requests.Session
) -> None:
    world = fresh_server.world
    events: list[tuple[str, str, dict[str, Any]]] = []
    live = LiveActivity(world, on_event=lambda e, a, p: events.append((e, a, p)))
    urls = [
        f"{fresh_server.api_url}/repos/acme/{name}/{what}"
        for name in ("api", "web")
        for what in ("deployments", "pulls?state=all&sort=updated&direction=desc")
    ]
    etags = {url: http.get(url).headers["ETag"] for url in urls}
    before = world.counts()
    reported = []
    for _ in range(12):
        reported += live.tick()
    names = {e for e, _, _ in events}
    assert {"deployment", "deployment_status", "workflow_run"} <= names
    assert names & {"pull_request", "pull_request_review", "push", "create"}
    assert "create" in names or "push" in names
    assert [r["event"] for r in reported] == [e for e, _, _ in events]
    assert all(p["repository"]["full_name"].startswith("acme/") for _, _, p in events)
    after = world.counts()
    assert after["deployment_statuses"] > before["deployment_statuses"]
    assert after["tags"] > before["tags"], "the staged change got tagged"
    assert sum(http.get(url, headers={"If-None-Match": etag}).status_code == 200 for url, etag in etags.items()) >= 3
    live.close()


def test_live_mode_delivers_changes_end_to_end(fresh_server: SimulatorServer) -> None:
    world = fresh_server.world
    repo = world.repo("api")
    assert repo is not None
    merged_before = sum(p.merged for p in repo.pulls.values())
    production_before = sum(d.environment == "production" for d in repo.deployments.values())
    live = LiveActivity(world)
    for _ in range(60):
        live.tick()
    assert sum(p.merged for p in repo.pulls.values()) > merged_before
    assert sum(d.environment == "production" for d in repo.deployments.values()) > production_before + 1
    live.close()


def test_tick_over_http(fresh_server: SimulatorServer) -> None:
    response = requests.post(f"{fresh_server.url}/_simulator/tick", timeout=10)
    assert response.status_code == 200
    assert response.json()["events"] and {"event", "action", "repository"} <= set(response.json()["events"][0])


def test_live_thread_runs_and_stops(fresh_server: SimulatorServer) -> None:
    live = LiveActivity(fresh_server.world, interval=0.05).start()
    _wait(lambda: live.ticks >= 3)
    live.stop()
    ticks = live.ticks
    time.sleep(0.2)
    assert live.ticks == ticks
    live.close()


def test_rollback_dispatch_creates_a_production_deployment_that_succeeds(
    fresh_server: SimulatorServer, http: requests.Session
) -> None:
    world, api = fresh_server.world, fresh_server.api_url
    repo = world.repo("api")
    assert repo is not None
    good = list(repo.tags.values())[-3]
    response = http.post(
        f"{api}/repos/acme/api/actions/workflows/rollback.yml/dispatches",
        json={"ref": "main", "inputs": {"tag": good.name}},
    )
    assert response.status_code == 204

    def newest() -> dict[str, Any] | None:
        found = http.get(f"{api}/repos/acme/api/deployments", params={"environment": "production"}).json()[0]
        return found if found["ref"] == good.name else None

    deployment = _wait(newest)
    assert deployment["sha"] == good.sha and deployment["payload"]["rollback"] is True
    statuses = _wait(lambda: (s := http.get(deployment["statuses_url"]).json()) and s[0]["state"] == "success" and s)
    assert [s["state"] for s in reversed(statuses)] == ["queued", "in_progress", "success"]
    runs = http.get(f"{api}/repos/acme/api/actions/workflows/rollback.yml/runs").json()["workflow_runs"]
    assert runs[0]["event"] == "workflow_dispatch"
    _wait(lambda: http.get(runs[0]["url"]).json()["conclusion"] == "success")


def test_switch_makes_the_next_production_deploy_fail(fresh_server: SimulatorServer, http: requests.Session) -> None:
    api = fresh_server.api_url
    requests.post(f"{fresh_server.url}/_simulator/switches", json={"fail_next_production_deploy": True}, timeout=10)
    tag = list(fresh_server.world.repo("api").tags.values())[-2]  # type: ignore[union-attr]
    response = http.post(
        f"{api}/repos/acme/api/actions/workflows/rollback.yml/dispatches",
        json={"ref": "main", "inputs": {"tag": tag.name}, "return_run_details": True},
    )
    run_url = response.json()["run_url"]
    assert _wait(lambda: http.get(run_url).json()["conclusion"]) == "failure"
    deployment = http.get(f"{api}/repos/acme/api/deployments", params={"ref": tag.name}).json()[0]
    assert http.get(deployment["statuses_url"]).json()[0]["state"] == "failure"
    assert fresh_server.world.switches["fail_next_production_deploy"] is False


def test_dispatch_validates_its_inputs(fresh_server: SimulatorServer, http: requests.Session) -> None:
    url = f"{fresh_server.api_url}/repos/acme/api/actions/workflows/rollback.yml/dispatches"
    assert http.post(url, json={"ref": "main"}).status_code == 422
    assert http.post(url, json={"ref": "main", "inputs": {"tag": "v1", "color": "red"}}).status_code == 422
    assert http.post(url, json={"ref": "no-such-branch", "inputs": {"tag": "v1"}}).status_code == 422
    missing = f"{fresh_server.api_url}/repos/acme/api/actions/workflows/nope.yml/dispatches"
    assert http.post(missing, json={"ref": "main"}).status_code == 404


def test_state_file_keeps_history_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "world.pickle"
    world = load_or_generate(state, seed=9, repos=1, developers=3, weeks=1, now=NOW)
    assert state.exists()
    live = LiveActivity(world, state_file=state)
    for _ in range(5):
        live.tick()
    live.close()
    restored = load_or_generate(state, seed=123)
    assert restored.counts() == world.counts() and restored.seed == 9
    assert generate_world(seed=9, repos=1, developers=3, weeks=1, now=NOW).counts() != restored.counts()


# What a person does themselves (a workflow run's events name who triggered it, maybe long before).
PERSON_EVENTS = {"pull_request", "pull_request_review", "push", "create", "delete"}


def _human_senders(world: Any, ticks: int) -> list[tuple[str, str | None, str]]:
    """(event, action, sender login) of what the live activity did as a person in `ticks` ticks."""
    done: list[tuple[str, str | None, str]] = []
    live = LiveActivity(world, on_event=lambda e, a, p: done.append((e, a, (p.get("sender") or {}).get("login"))))
    for _ in range(ticks):
        live.tick()
    live.close()
    return [(e, a, who) for e, a, who in done if e in PERSON_EVENTS and who and world.user(who) in world.members]


def test_the_simulated_team_never_acts_as_the_person_who_signed_in(fresh_server: SimulatorServer) -> None:
    from collections import Counter

    from tests.simulator.test_oauth import _authorize, _token

    # The same world without anyone signed in: who would the team act as?
    alone = generate_world(seed=7, repos=2, developers=5, weeks=2, now=NOW)
    login, acted = Counter(who for _, _, who in _human_senders(alone, 40)).most_common(1)[0]
    assert acted > 0

    world = fresh_server.world
    _token(fresh_server, _authorize(fresh_server, login))  # signs in to Trunkline through the simulator's OAuth
    assert world.signed_in == {login.lower()}
    done = _human_senders(world, 40)
    assert done and all(who != login for _, _, who in done), [d for d in done if d[2] == login]


def test_who_signed_in_is_kept_in_the_state_file(tmp_path: Path) -> None:
    state = tmp_path / "world.pickle"
    world = load_or_generate(state, seed=9, repos=1, developers=3, weeks=1, now=NOW)
    world.sign_in_record(world.members[0])
    world.save(state)
    assert load_or_generate(state).signed_in == {world.members[0].login.lower()}


def test_a_change_spends_time_on_staging_before_its_tag() -> None:
    """The demo showed "On staging" at 0 for fifteen minutes: the staging run tagged in the very tick its deploy
    succeeded, so a change went from merged to tagged at one moment. Now staging is checked for a while first."""
    from datetime import timedelta

    from delivery.simulator.live import STAGING_CHECK_TICKS

    world = generate_world(seed=42, repos=4, now=NOW)
    world.frozen_clock = NOW + timedelta(hours=1)
    live = LiveActivity(world)
    known = {(r.name, t) for r in world.repos.values() for t in r.tags}
    on_staging_seen = 0
    for _ in range(60):
        world.frozen_clock += timedelta(seconds=20)  # the demo's pace
        live.tick()
        for repo in world.repos.values():
            tagged = {t.sha for t in repo.tags.values()}
            staged = [
                d for d in repo.deployments.values() if d.environment == "staging" and d.latest_state == "success"
            ]
            on_staging_seen += bool(staged) and staged[-1].sha not in tagged
    live.close()
    waits = []
    for repo in world.repos.values():
        for name, tag in repo.tags.items():
            if (repo.name, name) in known:
                continue
            succeeded = [
                s.created_at
                for d in repo.deployments.values()
                if d.environment == "staging" and d.sha == tag.sha
                for s in d.statuses
                if s.state == "success"
            ]
            waits.append(tag.created_at - min(succeeded))
    assert len(waits) >= 5, waits
    assert min(waits) >= timedelta(seconds=20 * STAGING_CHECK_TICKS), waits
    assert on_staging_seen >= len(waits) * STAGING_CHECK_TICKS


def test_the_team_holds_production_deploys_for_a_while_after_a_rollback() -> None:
    """The demo's team deployed over a rollback within seconds, so a rollback never stayed in place: after a
    rollback goes live in a repository, its production deploys wait ROLLBACK_HOLD (staging and tags go on)."""
    from datetime import timedelta

    from delivery.simulator.dispatch import dispatch
    from delivery.simulator.live import ROLLBACK_HOLD

    world = generate_world(seed=42, repos=2, now=NOW)
    world.frozen_clock = NOW + timedelta(hours=1)
    live = LiveActivity(world)

    def tick() -> None:
        world.frozen_clock += timedelta(seconds=20)  # the demo's pace
        world.advance()
        live.tick()

    def deploys(repo: Any) -> list[Any]:
        return [d for d in repo.deployments.values() if d.environment == "production" and not d.payload]

    repo = next(iter(world.served_repos))
    shipped_before = len(deploys(repo))
    for _ in range(30):
        tick()
    assert len(deploys(repo)) > shipped_before, "the team ships every few minutes"
    target = list(repo.tags)[-3]
    dispatch(
        world,
        repo,
        repo.workflow_by_file("rollback.yml"),
        target,
        repo.tags[target].sha,
        world.bot,
        {"tag": target},
        world.clock(),
    )
    while not any(d.payload.get("rollback") and d.latest_state == "success" for d in repo.deployments.values()):
        tick()
    rolled_back_at = world.clock()
    during = len(deploys(repo))
    tags = len(repo.tags)
    while world.clock() - rolled_back_at < ROLLBACK_HOLD - timedelta(seconds=20):
        tick()
    assert len(deploys(repo)) == during, "nothing shipped over the rollback during the hold"
    assert len(repo.tags) > tags, "the team goes on merging and tagging"
    for _ in range(15):
        tick()
    assert len(deploys(repo)) > during, "then production deploys resume"
    live.close()
