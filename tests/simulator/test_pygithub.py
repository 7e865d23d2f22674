"""Unchanged PyGithub, over real HTTP, reads the whole simulated organization."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from github import Auth, Github
from github.GithubException import UnknownObjectException

from delivery.simulator.server import SimulatorServer
from delivery.simulator.world import World


@pytest.fixture()
def gh(server: SimulatorServer) -> Iterator[Github]:
    client = Github(
        base_url=server.api_url,
        auth=Auth.Token("x"),
        per_page=100,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    yield client
    client.close()


def test_organization_and_repositories(gh: Github, world: World) -> None:
    org = gh.get_organization("acme")
    assert org.login == "acme"
    repos = list(org.get_repos())
    assert {r.full_name for r in repos} == {r.full_name for r in world.repos.values()}
    assert org.get_repos().totalCount == len(world.repos)
    assert {m.login for m in org.get_members()} == {u.login for u in world.members}
    assert [t.slug for t in org.get_teams()] == [t.slug for t in world.teams]


def test_pull_requests_reviews_and_commits_match_the_world(gh: Github, world: World) -> None:
    repo = world.repo("api")
    assert repo is not None
    remote = gh.get_repo("acme/api")
    pulls = list(remote.get_pulls(state="all", sort="updated", direction="desc"))
    assert [p.number for p in pulls] == [
        p.number for p in sorted(repo.pulls.values(), key=lambda p: (p.updated_at, p.number), reverse=True)
    ]
    assert [p.updated_at for p in pulls] == sorted((p.updated_at for p in pulls), reverse=True)
    for number in (pulls[0].number, pulls[len(pulls) // 2].number):
        pr = remote.get_pull(number)
        mine = repo.pulls[number]
        assert pr.head.sha == mine.head_sha and pr.merged == mine.merged and pr.state == mine.state
        assert [r.id for r in pr.get_reviews()] == [r.id for r in mine.reviews]
        assert [c.sha for c in pr.get_commits()] == mine.commit_shas
    commits = list(remote.get_commits())
    assert len(commits) == len(world.reachable(repo, repo.main_sha))
    assert commits[0].sha == repo.main_sha


def test_deployments_statuses_tags_and_runs(gh: Github, world: World) -> None:
    repo = world.repo("billing")
    assert repo is not None
    remote = gh.get_repo("acme/billing")
    deployments = list(remote.get_deployments())
    assert [d.id for d in deployments] == sorted(repo.deployments, reverse=True)
    newest = deployments[0]
    assert [s.state for s in newest.get_statuses()] == [s.state for s in reversed(repo.deployments[newest.id].statuses)]
    production = list(remote.get_deployments(environment="production"))
    assert production and all(d.environment == "production" for d in production)
    assert [t.name for t in remote.get_tags()] == list(reversed(repo.tags))
    assert remote.get_workflow_runs().totalCount == len(repo.runs)
    assert {w.path for w in remote.get_workflows()} >= {".github/workflows/rollback.yml"}
    assert remote.get_git_ref("heads/main").object.sha == repo.main_sha


def test_the_deleted_repository_is_listed_but_404s(gh: Github, world: World) -> None:
    gone = next(r for r in world.repos.values() if r.gone)
    assert gone.full_name in {r.full_name for r in gh.get_organization("acme").get_repos()}
    with pytest.raises(UnknownObjectException):
        gh.get_repo(gone.full_name).get_pulls().totalCount  # noqa: B018 - the request is the point


def test_whole_organization_totals_equal_world_counts(gh: Github, world: World) -> None:
    counts = world.counts()
    pulls = deployments = tags = runs = 0
    for remote in gh.get_organization("acme").get_repos():
        if world.repo(remote.name) is None:
            continue
        pulls += remote.get_pulls(state="all").totalCount
        deployments += remote.get_deployments().totalCount
        tags += remote.get_tags().totalCount
        runs += remote.get_workflow_runs().totalCount
    assert (pulls, deployments, tags, runs) == (
        counts["pull_requests"],
        counts["deployments"],
        counts["tags"],
        counts["workflow_runs"],
    )


def test_one_repository_in_full_equals_its_counts(gh: Github, world: World) -> None:
    remote = gh.get_repo("acme/web")
    found = {"reviews": 0, "pull_request_commits": 0, "deployment_statuses": 0}
    for pr in remote.get_pulls(state="all"):
        found["reviews"] += pr.get_reviews().totalCount
        found["pull_request_commits"] += pr.get_commits().totalCount
    for deployment in remote.get_deployments():
        found["deployment_statuses"] += deployment.get_statuses().totalCount
    found_main = remote.get_commits().totalCount
    expected = world.counts("acme/web")
    assert found == {k: expected[k] for k in found}
    assert found_main == expected["main_commits"]
