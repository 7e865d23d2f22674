"""Every operation the simulator serves answers with bodies valid against GitHub's own OpenAPI description."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from jsonschema import Draft4Validator

from delivery.simulator.api import ROUTES
from delivery.simulator.server import SimulatorServer
from delivery.simulator.world import World

from .openapi import errors, operations
from .receiver import Receiver

REPO = "/repos/{owner}/{repo}"
REQUIRED_GETS = {
    "/orgs/{org}",
    "/orgs/{org}/repos",
    "/orgs/{org}/members",
    "/orgs/{org}/members/{username}",
    "/orgs/{org}/teams",
    "/orgs/{org}/teams/{team_slug}/members",
    "/rate_limit",
    REPO,
    REPO + "/pulls",
    REPO + "/pulls/{pull_number}",
    REPO + "/pulls/{pull_number}/commits",
    REPO + "/pulls/{pull_number}/reviews",
    REPO + "/commits",
    REPO + "/commits/{ref}",
    REPO + "/branches",
    REPO + "/tags",
    REPO + "/git/matching-refs/{ref}",
    REPO + "/git/ref/{ref}",
    REPO + "/deployments",
    REPO + "/deployments/{deployment_id}",
    REPO + "/deployments/{deployment_id}/statuses",
    REPO + "/environments",
    REPO + "/actions/runs",
    REPO + "/actions/runs/{run_id}",
    REPO + "/actions/workflows",
    REPO + "/actions/workflows/{workflow_id}",
    REPO + "/actions/workflows/{workflow_id}/runs",
    REPO + "/releases",
    REPO + "/compare/{basehead}",
    "/user",
    "/user/emails",
    "/user/memberships/orgs/{org}",
    "/orgs/{org}/hooks",
    REPO + "/hooks",
}
REQUIRED_POSTS = {
    REPO + "/deployments",
    REPO + "/deployments/{deployment_id}/statuses",
    REPO + "/actions/workflows/{workflow_id}/dispatches",
    "/orgs/{org}/hooks",
    REPO + "/hooks",
    REPO + "/git/refs",
    REPO + "/git/tags",
}
# GitHub operations served beyond the OpenAPI subset (Trunkline does not call them; tests and demos do):
# reading/updating/pinging one hook and reading one delivery. Checked below against the list schemas
# and against HOOK_DELIVERY (GitHub's "Webhook delivery", which the subset does not carry).
BEYOND_SUBSET = {
    (method, prefix + suffix)
    for prefix in ("/orgs/{org}/hooks/{hook_id}", REPO + "/hooks/{hook_id}")
    for method, suffix in (("GET", ""), ("PATCH", ""), ("POST", "/pings"), ("GET", "/deliveries/{delivery_id}"))
}
_NULLABLE_INT = {"type": ["integer", "null"]}
HOOK_DELIVERY = {
    "type": "object",
    "required": ["id", "guid", "delivered_at", "redelivery", "duration", "status", "status_code", "event", "action",
                 "installation_id", "repository_id", "request", "response"],
    "properties": {
        "id": {"type": "integer"}, "guid": {"type": "string"}, "delivered_at": {"type": "string"},
        "redelivery": {"type": "boolean"}, "duration": {"type": "number"}, "status": {"type": "string"},
        "status_code": {"type": "integer"}, "event": {"type": "string"}, "action": {"type": ["string", "null"]},
        "installation_id": _NULLABLE_INT, "repository_id": _NULLABLE_INT,
        "throttled_at": {"type": ["string", "null"]}, "url": {"type": "string"},
        "request": {"type": "object", "required": ["headers", "payload"],
                    "properties": {"headers": {"type": ["object", "null"]}, "payload": {"type": ["object", "null"]}}},
        "response": {"type": "object", "required": ["headers", "payload"],
                     "properties": {"headers": {"type": ["object", "null"]}, "payload": {"type": ["string", "null"]}}},
    },
}  # fmt: skip


def test_served_operations_cover_the_required_ones_and_all_exist_in_the_spec() -> None:
    served = {(method, path) for method, path, _ in ROUTES}
    assert {("GET", p) for p in REQUIRED_GETS} <= served
    assert {("POST", p) for p in REQUIRED_POSTS} <= served
    assert served - operations() == BEYOND_SUBSET, "every other served operation is in the subset"
    assert operations() <= served, "every operation of the subset is served"


def _get(server: SimulatorServer, http: requests.Session, url: str, template: str, status: int = 200) -> Any:
    response = http.get(server.api_url + url)
    assert response.status_code == status, (url, response.status_code, response.text[:300])
    body = response.json()
    assert errors("GET", template, status, body) == []
    return body


def _cases(world: World) -> list[tuple[str, str]]:
    """(template, concrete URL) with real ids, picking the odd objects on purpose."""
    repo = world.repo("api")
    assert repo is not None
    deleted_pr = next(p for r in world.served_repos for p in r.pulls.values() if p.user.deleted)
    deleted_repo = next(r for r in world.served_repos if deleted_pr in r.pulls.values())
    reviewed_by_deleted = next(
        (r, p)
        for r in world.served_repos
        for p in r.pulls.values()
        if any(rv.user is not None and rv.user.deleted for rv in p.reviews)
    )
    open_pr = next(p for p in reversed(repo.pulls.values()) if p.state == "open")
    merge_commit = (
        next(c for c in world.reachable(repo, repo.main_sha) if len(c.parents) == 2)
        if any(len(c.parents) == 2 for c in world.reachable(repo, repo.main_sha))
        else repo.commits[repo.main_sha]
    )
    bare_repo = next(r for r in world.served_repos if any(not d.statuses for d in r.deployments.values()))
    rollback_run = next(
        (r, run) for r in world.served_repos for run in r.runs.values() if run.workflow.file_name == "rollback.yml"
    )
    tags = list(repo.tags)
    base = f"/repos/acme/{repo.name}"
    return [
        ("/orgs/{org}", "/orgs/acme"),
        ("/orgs/{org}/repos", "/orgs/acme/repos?per_page=100"),
        ("/orgs/{org}/members", "/orgs/acme/members"),
        ("/orgs/{org}/teams", "/orgs/acme/teams"),
        ("/orgs/{org}/teams/{team_slug}/members", "/orgs/acme/teams/on-call/members"),
        ("/orgs/{org}/hooks", "/orgs/acme/hooks"),
        ("/rate_limit", "/rate_limit"),
        ("/user", "/user"),
        ("/user/emails", "/user/emails"),
        ("/user/memberships/orgs/{org}", "/user/memberships/orgs/acme"),
        (REPO, base),
        (REPO, "/repos/acme/legacy-web"),
        (REPO + "/pulls", f"{base}/pulls?state=all&per_page=100"),
        (REPO + "/pulls", f"/repos/acme/{deleted_repo.name}/pulls?state=all&per_page=100&sort=updated"),
        (REPO + "/pulls/{pull_number}", f"{base}/pulls/{open_pr.number}"),
        (REPO + "/pulls/{pull_number}", f"/repos/acme/{deleted_repo.name}/pulls/{deleted_pr.number}"),
        (REPO + "/pulls/{pull_number}/commits", f"{base}/pulls/{open_pr.number}/commits"),
        (
            REPO + "/pulls/{pull_number}/reviews",
            f"/repos/acme/{reviewed_by_deleted[0].name}/pulls/{reviewed_by_deleted[1].number}/reviews",
        ),
        (REPO + "/commits", f"{base}/commits?per_page=100"),
        (REPO + "/commits/{ref}", f"{base}/commits/main"),
        (REPO + "/commits/{ref}", f"{base}/commits/{merge_commit.sha}"),
        (REPO + "/branches", f"{base}/branches?per_page=100"),
        (REPO + "/tags", f"{base}/tags?per_page=100"),
        (REPO + "/git/matching-refs/{ref}", f"{base}/git/matching-refs/tags/v"),
        (REPO + "/git/ref/{ref}", f"{base}/git/ref/heads/main"),
        (REPO + "/git/ref/{ref}", f"{base}/git/ref/tags/{tags[-1]}"),
        (REPO + "/compare/{basehead}", f"{base}/compare/{tags[-6]}...main"),
        (REPO + "/releases", f"{base}/releases"),
        (REPO + "/hooks", f"{base}/hooks"),
        (REPO + "/deployments", f"{base}/deployments?per_page=100"),
        (REPO + "/deployments", f"/repos/acme/{bare_repo.name}/deployments?environment=staging&per_page=100"),
        (REPO + "/deployments/{deployment_id}", f"{base}/deployments/{next(iter(repo.deployments))}"),
        (
            REPO + "/deployments/{deployment_id}/statuses",
            f"{base}/deployments/{next(reversed(repo.deployments))}/statuses",
        ),
        (REPO + "/environments", f"{base}/environments"),
        (REPO + "/actions/runs", f"{base}/actions/runs?per_page=100"),
        (REPO + "/actions/runs/{run_id}", f"/repos/acme/{rollback_run[0].name}/actions/runs/{rollback_run[1].id}"),
        (REPO + "/actions/workflows", f"{base}/actions/workflows"),
        (REPO + "/actions/workflows/{workflow_id}", f"{base}/actions/workflows/{next(iter(repo.workflows))}"),
        (REPO + "/actions/workflows/{workflow_id}", f"{base}/actions/workflows/rollback.yml"),
        (REPO + "/actions/workflows/{workflow_id}/runs", f"{base}/actions/workflows/deploy-production.yml/runs"),
    ]


def test_every_get_validates_against_the_openapi_subset(
    server: SimulatorServer, world: World, http: requests.Session
) -> None:
    problems: list[str] = []
    for template, url in _cases(world):
        response = http.get(server.api_url + url)
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
        problems += errors("GET", template, 200, response.json())
    assert problems == []


def test_hooks_and_their_delivery_logs_validate(fresh_server: SimulatorServer, http: requests.Session) -> None:
    """Real deliveries (pings, an event, a failure, a redelivery) in every hook and delivery response."""
    api = fresh_server.api_url
    with Receiver() as receiver:
        for path in ("/orgs/acme/hooks", "/repos/acme/api/hooks"):
            template = path.replace("acme/api", "{owner}/{repo}").replace("/orgs/acme", "/orgs/{org}")
            hook = http.post(
                api + path,
                json={"config": {"url": receiver.url, "secret": "s", "content_type": "json"}, "events": ["*"]},
            ).json()
            failing = http.post(api + path, json={"config": {"url": "http://127.0.0.1:9/hook"}}).json()
            url = f"{path}/{hook['id']}"
            assert errors("GET", template, 200, [_get_json(http, api + url)]) == []
            patched = http.patch(
                api + url,
                json={
                    "active": True,
                    "events": ["push", "ping"],
                    "config": {"url": receiver.url, "content_type": "json"},
                },
            )
            assert patched.status_code == 200 and errors("GET", template, 200, [patched.json()]) == []
            assert http.post(f"{api}{url}/pings").status_code == 204
            fresh_server.webhooks.flush()
            deliveries = _get(fresh_server, http, f"{url}/deliveries", template + "/{hook_id}/deliveries")
            assert len(deliveries) == 2 and {d["event"] for d in deliveries} == {"ping"}
            failed = _get(
                fresh_server,
                http,
                f"{path}/{failing['id']}/deliveries?status=failure",
                template + "/{hook_id}/deliveries",
            )
            assert failed[0]["status_code"] == 0
            one = _get_json(http, f"{api}{url}/deliveries/{deliveries[0]['id']}")
            assert list(Draft4Validator(HOOK_DELIVERY).iter_errors(one)) == []
            attempt = http.post(f"{api}{url}/deliveries/{deliveries[0]['id']}/attempts")
            assert attempt.status_code == 202
            assert errors("POST", template + "/{hook_id}/deliveries/{delivery_id}/attempts", 202, attempt.json()) == []
            fresh_server.webhooks.flush()
            assert _get_json(http, f"{api}{url}/deliveries")[0]["redelivery"] is True


def _get_json(http: requests.Session, url: str) -> Any:
    response = http.get(url)
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    return response.json()


def test_membership_check_answers_204_or_404(server: SimulatorServer, world: World, http: requests.Session) -> None:
    member, outsider = world.members[0], world.outsider
    assert outsider is not None
    assert http.get(f"{server.api_url}/orgs/acme/members/{member.login}").status_code == 204
    missing = http.get(f"{server.api_url}/orgs/acme/members/{outsider.login}")
    assert missing.status_code == 404 and "message" in missing.json()


@pytest.mark.parametrize("path", ["/user", "/user/emails", "/user/memberships/orgs/acme"])
def test_user_endpoints_validate_for_an_oauth_user(server: SimulatorServer, world: World, path: str) -> None:
    token = server.oauth.issue_token(world.members[1])
    response = requests.get(server.api_url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200
    template = path.replace("/acme", "/{org}")
    assert errors("GET", template, 200, response.json()) == []


def test_every_post_validates_against_the_openapi_subset(fresh_server: SimulatorServer, http: requests.Session) -> None:
    world, api = fresh_server.world, fresh_server.api_url
    repo = world.repo("api")
    assert repo is not None
    tag = next(reversed(repo.tags.values()))
    cases: list[tuple[str, str, dict[str, Any], int]] = [
        (
            "/orgs/{org}/hooks",
            "/orgs/acme/hooks",
            {"config": {"url": "http://127.0.0.1:9/h", "secret": "s"}, "events": ["push", "deployment_status"]},
            201,
        ),
        (REPO + "/hooks", "/repos/acme/api/hooks", {"config": {"url": "http://127.0.0.1:9/h"}}, 201),
        (
            REPO + "/deployments",
            "/repos/acme/api/deployments",
            {"ref": tag.name, "environment": "production", "payload": {"by": "test"}},
            201,
        ),
        (
            REPO + "/git/tags",
            "/repos/acme/api/git/tags",
            {"tag": "v99.0.0", "message": "Release", "object": repo.main_sha, "type": "commit"},
            201,
        ),
        (REPO + "/git/refs", "/repos/acme/api/git/refs", {"ref": "refs/heads/hotfix/x", "sha": repo.main_sha}, 201),
        (
            REPO + "/actions/workflows/{workflow_id}/dispatches",
            "/repos/acme/api/actions/workflows/rollback.yml/dispatches",
            {"ref": "main", "inputs": {"tag": tag.name}, "return_run_details": True},
            200,
        ),
    ]
    problems: list[str] = []
    created: dict[str, Any] = {}
    for template, url, body, status in cases:
        response = http.post(api + url, json=body)
        assert response.status_code == status, (url, response.status_code, response.text[:300])
        created[template] = response.json()
        problems += errors("POST", template, status, response.json())
    deployment_id = created[REPO + "/deployments"]["id"]
    response = http.post(
        f"{api}/repos/acme/api/deployments/{deployment_id}/statuses",
        json={"state": "success", "environment_url": "https://api.acme.test"},
    )
    assert response.status_code == 201
    problems += errors("POST", REPO + "/deployments/{deployment_id}/statuses", 201, response.json())
    assert problems == []
    plain = http.post(f"{api}/repos/acme/api/actions/workflows/ci.yml/dispatches", json={"ref": "main"})
    assert plain.status_code == 204 and plain.content == b""


def _urls(value: Any, key: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [pair for k, v in value.items() if k != "payload" for pair in _urls(v, k)]
    if isinstance(value, list):
        return [pair for item in value for pair in _urls(item, key)]
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return [(key, value)]
    return []


def test_every_url_points_at_the_simulator_itself(
    server: SimulatorServer, world: World, http: requests.Session
) -> None:
    """PyGithub only follows URLs on its own base URL's host, port and path prefix."""
    external = {"environment_url", "documentation_url", "blog"}
    offenders = []
    for _, url in _cases(world):
        for key, value in _urls(http.get(server.api_url + url).json()):
            if key not in external and not value.startswith(server.url + "/"):
                offenders.append((url, key, value))
    assert offenders == []
