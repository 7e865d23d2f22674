"""The generated world: deterministic, trunk-based, with breaches, quirks and work in flight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import requests

from delivery.simulator.generate import generate_world
from delivery.simulator.models import PullRequest, Repository
from delivery.simulator.server import SimulatorServer
from delivery.simulator.world import World

from .conftest import NOW


def _fingerprint(world: World) -> list[object]:
    rows: list[object] = []
    for repo in world.repos.values():
        rows.append((repo.id, repo.name, repo.main_sha if repo.branches else None, len(repo.commits)))
        rows += [
            (p.id, p.number, p.title, p.user.login, p.head_sha, p.state, p.updated_at) for p in repo.pulls.values()
        ]
        rows += [(d.id, d.environment, d.sha, [s.state for s in d.statuses]) for d in repo.deployments.values()]
        rows += [(t.name, t.sha) for t in repo.tags.values()]
    return rows


def test_same_seed_same_world_other_seed_other_world(world: World) -> None:
    again = generate_world(seed=42, now=NOW)
    assert _fingerprint(again) == _fingerprint(world)
    assert again.counts() == world.counts()
    other = generate_world(seed=43, now=NOW)
    assert _fingerprint(other) != _fingerprint(world)


def test_default_world_shape(world: World) -> None:
    counts = world.counts()
    assert world.org_login == "acme"
    assert counts["repositories"] == 5  # 4 active + the archived one; the deleted one is listed only
    assert counts["developers"] == 10
    assert 300 < counts["pull_requests"] < 1500
    assert world.bot is not None and world.bot.type == "Bot"
    assert world.outsider is not None and not world.outsider.is_member
    for repo in world.served_repos:
        for pr in repo.pulls.values():
            latest = max(
                [
                    pr.created_at,
                    *(r.submitted_at for r in pr.reviews),
                    *(t for t in (pr.merged_at, pr.closed_at, pr.ready_at) if t),
                ]
            )
            assert pr.updated_at >= latest
            assert pr.updated_at <= NOW
    ids = [d.id for r in world.served_repos for d in r.deployments.values()]
    assert len(ids) == len(set(ids))


def _merged(world: World) -> list[tuple[Repository, PullRequest]]:
    return [(r, p) for r in world.served_repos for p in r.pulls.values() if p.merged]


def test_every_squash_merge_is_one_commit_on_main(world: World) -> None:
    for repo in world.served_repos:
        main = {c.sha for c in world.reachable(repo, repo.main_sha)}
        for pr in repo.pulls.values():
            if pr.merge_method == "squash":
                landed = repo.commits[pr.merge_commit_sha or ""]
                assert landed.sha in main and len(landed.parents) == 1
                assert landed.message.startswith(f"{pr.title} (#{pr.number})")
                assert not set(pr.commit_shas) & main


def test_process_breaches_are_present(world: World) -> None:
    merged = [p for _, p in _merged(world)]
    first_commit = {p.id: min(r.commits[s].authored_at for s in p.commit_shas) for r, p in _merged(world)}
    assert any(p.merged_at - first_commit[p.id] >= timedelta(days=5) for p in merged if p.merged_at)
    assert any(not any(r.state == "APPROVED" for r in p.reviews) for p in merged)
    assert any(p.reviews and p.reviews[-1].commit_id != p.head_sha for p in merged), "approval at a stale head"
    assert any(p.state == "closed" and not p.merged for r in world.served_repos for p in r.pulls.values())
    merge_commits = [(r, p) for r, p in _merged(world) if p.merge_method == "merge"]
    assert merge_commits
    repo, pr = merge_commits[0]
    main = {c.sha for c in world.reachable(repo, repo.main_sha)}
    assert set(pr.commit_shas) <= main and len(repo.commits[pr.merge_commit_sha or ""].parents) == 2
    assert any(p.head_ref in r.branches for r, p in _merged(world)), "a merged branch not deleted"


def _staging_batches(world: World) -> list[int]:
    """How many commits of the main line each staging deploy brought."""
    batches = []
    for repo in world.served_repos:
        commit = repo.commits[repo.main_sha]
        line = []
        while True:
            line.append(commit.sha)
            if not commit.parents:
                break
            commit = repo.commits[commit.parents[0]]
        position = {sha: i for i, sha in enumerate(reversed(line))}
        staged = [position[d.sha] for d in repo.deployments.values() if d.environment == "staging" and d.statuses]
        batches += [b - a for a, b in pairwise(staged)]
    return batches


def test_some_deploys_carry_several_merges(world: World) -> None:
    batches = _staging_batches(world)
    assert max(batches) >= 2 and batches.count(1) > len(batches) / 2


def test_failed_staging_and_rolled_back_production(world: World) -> None:
    failed_staging = [
        (r, d)
        for r in world.served_repos
        for d in r.deployments.values()
        if d.environment == "staging" and d.latest_state == "failure"
    ]
    assert failed_staging
    for repo, deployment in failed_staging:
        assert all(t.sha != deployment.sha for t in repo.tags.values()), "no tag after a failed staging deploy"
    rollbacks = [(r, d) for r in world.served_repos for d in r.deployments.values() if d.payload.get("rollback")]
    assert rollbacks
    repo, rollback = rollbacks[0]
    earlier = [d for d in repo.deployments.values() if d.environment == "production" and d.id < rollback.id]
    assert earlier[-1].latest_state == "failure"
    assert rollback.ref in repo.tags and rollback.latest_state == "success" and rollback.production_environment
    assert any(
        run.workflow.file_name == "rollback.yml" and run.inputs == {"tag": rollback.ref} for run in repo.runs.values()
    )


def test_a_failed_production_deploy_is_fixed_forward_by_a_hotfix_branch(world: World) -> None:
    hotfixes = [(r, p) for r in world.served_repos for p in r.pulls.values() if p.head_ref.startswith("hotfix/")]
    assert len(hotfixes) == 1
    repo, hotfix = hotfixes[0]
    assert hotfix.merged_at is not None
    production = [d for d in repo.deployments.values() if d.environment == "production"]
    before = [d for d in production if d.statuses[-1].created_at < hotfix.merged_at]
    after = [d for d in production if d.created_at > hotfix.merged_at]
    # The last deploy before the hotfix failed and was not rolled back; the hotfix's own deploy succeeded.
    assert before[-1].latest_state == "failure" and not before[-1].payload.get("rollback")
    assert not any(d.payload.get("rollback") for d in production if before[-1].id < d.id < after[0].id)
    assert after[0].latest_state == "success" and repo.commits[after[0].sha] is not None


SUNDAY_NIGHT, MONDAY_MORNING = datetime(2025, 11, 23, 3, 10, tzinfo=UTC), datetime(2025, 11, 24, 8, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "now", [NOW, SUNDAY_NIGHT, MONDAY_MORNING], ids=["wednesday-afternoon", "sunday-night", "monday-morning"]
)
def test_work_is_in_flight_in_every_stage(world: World, now: datetime) -> None:
    _assert_work_in_flight(world if now == NOW else generate_world(seed=11, now=now), now)


def test_a_world_with_fewer_deployments_ships_in_release_trains_and_keeps_work_in_flight() -> None:
    world = generate_world(seed=3, repos=4, prs=800, weeks=26, deployments=400, quirks=False, now=NOW)

    deployments = [d for repo in world.served_repos for d in repo.deployments.values()]
    assert 360 <= len(deployments) <= 440, "about as many as asked for (every merge deployed: over 1,500)"
    assert 0 < sum(d.environment.startswith("pr-") for d in deployments) < 80, "about a tenth are previews"
    batches = sorted(_staging_batches(world))
    assert batches[len(batches) // 2] >= 3, "most staging deploys carry several merges"
    _assert_work_in_flight(world, NOW)


def _assert_work_in_flight(world: World, now: datetime) -> None:
    for repo in world.served_repos:
        if repo.archived:
            continue
        open_prs = [p for p in repo.pulls.values() if p.state == "open"]
        assert any(p.draft for p in open_prs)
        assert any(not p.draft and not p.reviews for p in open_prs)
        assert any(any(r.state == "APPROVED" and r.commit_id == p.head_sha for r in p.reviews) for p in open_prs)
        assert any(b not in {p.head_ref for p in repo.pulls.values()} for b in repo.branches if b != "main")
        staged = [d for d in repo.deployments.values() if d.environment == "staging" and d.statuses]
        assert all(d.sha != repo.main_sha for d in staged), "merged, not yet on staging"
        tagged = {t.sha for t in repo.tags.values()}
        assert staged[-1].latest_state == "success" and staged[-1].sha not in tagged, "on staging, not tagged"
        production = [d for d in repo.deployments.values() if d.environment == "production"]
        newest_tag = next(reversed(repo.tags.values()))
        assert all(d.ref != newest_tag.name for d in production), "tagged, not in production"
        success = production[-1].statuses[-1]
        assert success.state == "success" and now - success.created_at < timedelta(minutes=30)
        assert any(run.status != "completed" for run in repo.runs.values())
        assert all(t <= now for t in (repo.updated_at, repo.pushed_at))


def test_quirks(world: World, server: SimulatorServer, http: requests.Session) -> None:
    api = server.api_url
    gone = next(r for r in world.repos.values() if r.gone)
    listed = [r["full_name"] for r in http.get(f"{api}/orgs/acme/repos", params={"per_page": 100}).json()]
    assert gone.full_name in listed
    for path in ("", "/pulls", "/deployments", "/tags", "/commits"):
        assert http.get(f"{api}/repos/{gone.full_name}{path}").status_code == 404
    archived = next(r for r in world.served_repos if r.archived)
    assert archived.pulls and archived.tags and http.get(f"{api}/repos/{archived.full_name}").json()["archived"]
    repo, pr = next((r, p) for r in world.served_repos for p in r.pulls.values() if p.user.deleted)
    listing = http.get(f"{api}/repos/{repo.full_name}/pulls", params={"state": "all", "per_page": 100}).json()
    listing += http.get(
        f"{api}/repos/{repo.full_name}/pulls", params={"state": "all", "per_page": 100, "page": 2}
    ).json()
    assert next(p for p in listing if p["number"] == pr.number)["user"] is None
    assert http.get(f"{api}/repos/{repo.full_name}/pulls/{pr.number}").json()["user"]["login"] == "ghost"
    repo, pr = next(
        (r, p)
        for r in world.served_repos
        for p in r.pulls.values()
        if any(rv.user is not None and rv.user.deleted for rv in p.reviews)
    )
    reviews = http.get(f"{api}/repos/{repo.full_name}/pulls/{pr.number}/reviews").json()
    assert any(r["user"] is None for r in reviews)
    repo, bare = next((r, d) for r in world.served_repos for d in r.deployments.values() if not d.statuses)
    assert http.get(f"{api}/repos/{repo.full_name}/deployments/{bare.id}/statuses").json() == []
    repo, tag = next((r, t) for r in world.served_repos for t in r.tags.values() if t.sha not in r.commits)
    assert any(
        t["name"] == tag.name
        for t in http.get(f"{api}/repos/{repo.full_name}/tags", params={"per_page": 100, "page": 2}).json()
        + http.get(f"{api}/repos/{repo.full_name}/tags", params={"per_page": 100}).json()
    )
    assert http.get(f"{api}/repos/{repo.full_name}/commits/{tag.sha}").status_code == 422


def test_counts_only_what_is_served(world: World) -> None:
    gone = next(r for r in world.repos.values() if r.gone)
    assert {k: v for k, v in world.counts(gone.full_name).items() if k != "developers"} == dict.fromkeys(
        (
            "repositories",
            "pull_requests",
            "reviews",
            "pull_request_commits",
            "main_commits",
            "tags",
            "deployments",
            "deployment_statuses",
            "workflow_runs",
        ),
        0,
    )
    per_repo = [world.counts(r.full_name) for r in world.served_repos]
    total = world.counts()
    for key in ("pull_requests", "reviews", "main_commits", "deployments", "deployment_statuses", "workflow_runs"):
        assert sum(c[key] for c in per_repo) == total[key]


def test_a_large_world_has_the_asked_size_spread_unevenly() -> None:
    # How long it takes is a benchmark's business (make bench prints the simulator's start-up time).
    big = generate_world(seed=1, repos=20, prs=10_000, now=NOW)
    counts = big.counts()
    assert counts["pull_requests"] == 10_000
    assert counts["repositories"] == 21
    assert counts["main_commits"] > 8_000 and counts["deployments"] > 20_000
    sizes = sorted(len(r.pulls) for r in big.served_repos if not r.archived)
    assert sizes[-1] > 1.5 * sizes[0], "spread unevenly"


def test_small_prs_counts_are_exact() -> None:
    for prs in (1, 7, 60):
        assert generate_world(seed=5, repos=3, prs=prs, weeks=1, now=NOW).counts()["pull_requests"] == prs
