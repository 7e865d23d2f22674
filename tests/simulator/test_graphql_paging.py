"""GraphQL: cursor pagination walks every connection exactly once; each query's cost follows GitHub's published rule
and is charged to a points budget of its own."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from delivery.simulator import ops
from delivery.simulator.generate import generate_world
from delivery.simulator.server import SimulatorServer
from delivery.simulator.world import World

from .conftest import NOW
from .gql import data, post, rest_all, walk

PAGE = """
query($after: String, $before: String, $first: Int, $last: Int, $states: [PullRequestState!]) {
  repository(owner: "acme", name: "api") {
    pullRequests(first: $first, after: $after, last: $last, before: $before, states: $states,
                 orderBy: {field: UPDATED_AT, direction: DESC}) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { number } }
      nodes { number }
    }
  }
}
"""


def _page(server: SimulatorServer, http: requests.Session, **variables: Any) -> dict[str, Any]:
    return data(server, http, PAGE, **variables)["repository"]["pullRequests"]


def test_pull_requests_page_forward_and_back_each_exactly_once(server: SimulatorServer, http: requests.Session) -> None:
    everything = [
        p["number"]
        for p in rest_all(http, f"{server.api_url}/repos/acme/api/pulls", state="all", sort="updated", direction="desc")
    ]
    forward: list[int] = []
    page = _page(server, http, first=7)
    assert page["pageInfo"]["hasPreviousPage"] is False and page["totalCount"] == len(everything)
    while True:
        assert [e["node"] for e in page["edges"]] == page["nodes"]
        assert page["edges"][-1]["cursor"] == page["pageInfo"]["endCursor"]
        assert page["edges"][0]["cursor"] == page["pageInfo"]["startCursor"]
        forward += [n["number"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        page = _page(server, http, first=7, after=page["pageInfo"]["endCursor"])
    assert forward == everything
    backward: list[int] = []
    page = _page(server, http, last=9)
    assert page["pageInfo"]["hasNextPage"] is False
    while True:
        backward = [n["number"] for n in page["nodes"]] + backward
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        page = _page(server, http, last=9, before=page["pageInfo"]["startCursor"])
    assert backward == everything
    empty = _page(server, http, first=5, after=page["pageInfo"]["startCursor"], before=page["pageInfo"]["startCursor"])
    assert empty["nodes"] == [] and empty["pageInfo"]["endCursor"] is None


def test_states_filter_as_rest_splits_open_and_closed(server: SimulatorServer, http: requests.Session) -> None:
    closed = rest_all(http, f"{server.api_url}/repos/acme/api/pulls", state="closed")
    opened = rest_all(http, f"{server.api_url}/repos/acme/api/pulls", state="open")
    assert _page(server, http, first=1, states=["OPEN"])["totalCount"] == len(opened)
    merged = _page(server, http, first=1, states=["MERGED"])["totalCount"]
    assert merged == sum(1 for p in closed if p["merged_at"])
    assert _page(server, http, first=1, states=["CLOSED", "MERGED"])["totalCount"] == len(closed)


def test_a_pull_request_updated_while_paging_comes_neither_twice_nor_shifts_the_rest(
    fresh_server: SimulatorServer, http: requests.Session
) -> None:
    world = fresh_server.world
    repo = world.repo("api")
    assert repo is not None
    order = [p.number for p in sorted(repo.pulls.values(), key=lambda p: (p.updated_at, p.number), reverse=True)]
    seen: list[int] = []
    page = _page(fresh_server, http, first=4)
    seen += [n["number"] for n in page["nodes"]]
    moved_unseen, moved_seen = order[10], order[1]
    with world.lock:
        for number in (moved_unseen, moved_seen):
            pr = repo.pulls[number]
            ops.submit_review(world, repo, pr, repo.pulls[order[0]].user, "COMMENTED", NOW + timedelta(hours=1))
    while page["pageInfo"]["hasNextPage"]:
        page = _page(fresh_server, http, first=4, after=page["pageInfo"]["endCursor"])
        seen += [n["number"] for n in page["nodes"]]
    assert len(seen) == len(set(seen))
    assert seen == [n for n in order if n != moved_unseen]  # it moved ahead of the cursor: the next sync meets it
    front = _page(fresh_server, http, first=2)["nodes"]
    assert front == [{"number": n} for n in sorted((moved_seen, moved_unseen), reverse=True)]


def test_nested_connections_page_on_their_own(server: SimulatorServer, world: World, http: requests.Session) -> None:
    repo = world.repo("api")
    assert repo is not None
    pr = max(repo.pulls.values(), key=lambda p: len(p.commit_shas))
    commits = walk(
        server,
        http,
        """query($number: Int!, $after: String) { repository(owner: "acme", name: "api") {
             pullRequest(number: $number) { commits(first: 1, after: $after) {
               pageInfo { hasNextPage endCursor } nodes { commit { oid } } } } } }""",
        ("repository", "pullRequest", "commits"),
        number=pr.number,
    )
    rest = rest_all(http, f"{server.api_url}/repos/acme/api/pulls/{pr.number}/commits")
    assert [c["commit"]["oid"] for c in commits] == [c["sha"] for c in rest] and len(rest) >= 3
    deployment = max(repo.deployments.values(), key=lambda d: len(d.statuses))
    statuses = walk(
        server,
        http,
        """query($id: ID!, $after: String) { node(id: $id) { ... on Deployment {
             statuses(first: 1, after: $after) { pageInfo { hasNextPage endCursor } nodes { id } } } } }""",
        ("node", "statuses"),
        id=http.get(f"{server.api_url}/repos/acme/api/deployments/{deployment.id}").json()["node_id"],
    )
    rest_statuses = rest_all(http, f"{server.api_url}/repos/acme/api/deployments/{deployment.id}/statuses")
    assert [s["id"] for s in statuses] == [s["node_id"] for s in rest_statuses] and len(rest_statuses) >= 3
    repos = walk(
        server,
        http,
        """query($after: String) { organization(login: "acme") {
             repositories(first: 2, after: $after) { pageInfo { hasNextPage endCursor } nodes { name } } } }""",
        ("organization", "repositories"),
    )
    assert sorted(r["name"] for r in repos) == sorted(world.repos)


def test_githubs_pagination_errors(server: SimulatorServer, http: requests.Session) -> None:
    bad_cursor = post(server, http, PAGE, {"first": 5, "after": "bm90IGEgY3Vyc29y"}).json()
    assert bad_cursor["errors"][0]["type"] == "INVALID_CURSOR_ARGUMENTS"
    assert bad_cursor["data"] == {"repository": None}
    too_many = post(server, http, PAGE, {"first": 101})
    assert too_many.status_code == 200
    assert too_many.json() == {
        "errors": [
            {
                "type": "EXCESSIVE_PAGINATION",
                "message": "Requesting 101 records on the `pullRequests` connection exceeds the `first` limit of 100 "
                "records.",
                "locations": [{"line": 4, "column": 5}],
                "path": ["repository", "pullRequests"],
            }
        ]
    }
    unbounded = post(server, http, PAGE, {}).json()["errors"][0]
    assert unbounded["type"] == "MISSING_PAGINATION_BOUNDARIES"
    assert unbounded["message"] == (
        "You must provide a `first` or `last` value to properly paginate the `pullRequests` connection."
    )


COST = """
query {
  rateLimit { cost nodeCount limit remaining used resetAt }
  organization(login: "acme") {
    repositories(first: 100) {
      nodes { pullRequests(first: 50) { nodes { reviews(first: 60) { totalCount } } } }
    }
  }
}
"""

SYNC_PAGE = """
query {
  rateLimit { cost nodeCount }
  repository(owner: "acme", name: "api") {
    pullRequests(first: 100, orderBy: {field: UPDATED_AT, direction: DESC}) {
      nodes { number reviews(first: 100) { totalCount } commits(first: 100) { totalCount }
              reviewRequests(first: 10) { totalCount } }
    }
  }
}
"""


def test_cost_follows_githubs_published_rule(server: SimulatorServer, http: requests.Session) -> None:
    # GitHub's own example, in this world's types: 1 + 100 + 100 x 50 = 5,101 requests -> 51 points;
    # 100 + 5,000 + 300,000 = 305,100 nodes.
    response = post(server, http, COST)
    rate = response.json()["data"]["rateLimit"]
    assert (rate["cost"], rate["nodeCount"]) == (51, 305_100)
    assert int(response.headers["x-ratelimit-used"]) == rate["used"] and rate["used"] >= 51
    assert int(response.headers["x-ratelimit-remaining"]) == rate["remaining"] == rate["limit"] - rate["used"]
    assert rate["resetAt"].endswith("Z")
    # one page of a sync: 1 + 100 x 3 = 301 requests -> 3 points; 100 + 3 x 100 x 100 + 100 x 10 nodes
    assert data(server, http, SYNC_PAGE)["rateLimit"] == {"cost": 3, "nodeCount": 21_100}
    assert data(server, http, "{ rateLimit { cost nodeCount } viewer { login } }")["rateLimit"] == {
        "cost": 1,
        "nodeCount": 0,
    }
    used = post(server, http, "{ viewer { login } }").headers["x-ratelimit-used"]
    deeper = "again: reviews(first: 100) { nodes { commit { parents(first: 100) { totalCount } } } }"
    huge = post(server, http, SYNC_PAGE.replace("reviewRequests(first: 10) { totalCount }", deeper))
    error = huge.json()["errors"][0]
    assert error["type"] == "MAX_NODE_LIMIT_EXCEEDED" and "data" not in huge.json()
    assert error["message"] == (
        "By the time this query traverses to the parents connection, it is requesting up to 1,030,100 possible nodes "
        "which exceeds the maximum limit of 500,000."
    )
    assert huge.headers["x-ratelimit-used"] == used, "a refused query costs nothing"


@pytest.fixture()
def small_budget() -> Iterator[SimulatorServer]:
    world = generate_world(seed=3, repos=1, developers=3, weeks=1, now=NOW)
    server = SimulatorServer(world, hourly_budget=1000, graphql_budget=10).start()
    yield server
    server.stop()


def test_the_points_budget_is_spent_by_cost_and_refused_when_short(
    small_budget: SimulatorServer, http: requests.Session
) -> None:
    server = small_budget
    three = SYNC_PAGE.replace('name: "api"', f'name: "{next(iter(server.world.repos))}"')
    remaining = []
    for query in ("{ viewer { login } }", three, three, three):
        response = post(server, http, query)
        assert response.status_code == 200 and "errors" not in response.json()
        assert response.headers["x-ratelimit-resource"] == "graphql" and response.headers["x-ratelimit-limit"] == "10"
        assert int(response.headers["x-ratelimit-reset"]) > time.time()
        remaining.append(int(response.headers["x-ratelimit-remaining"]))
    assert remaining == [9, 6, 3, 0]
    refused = post(server, http, "{ viewer { login } }")
    assert refused.status_code == 200
    assert refused.json() == {
        "errors": [
            {
                "type": "RATE_LIMITED",
                "code": "graphql_rate_limit",
                "message": "API rate limit already exceeded for user ID 1.",
            }
        ]
    }
    assert refused.headers["x-ratelimit-remaining"] == "0" and refused.headers["x-ratelimit-used"] == "10"
    rest = http.get(f"{server.api_url}/rate_limit").json()["resources"]
    assert rest["graphql"]["used"] == 10 and rest["graphql"]["remaining"] == 0
    assert rest["core"]["remaining"] > 0, "REST keeps a budget of its own"
    assert http.get(f"{server.api_url}/orgs/acme").status_code == 200
    reset = requests.post(f"{server.url}/_simulator/rate_limit/reset", json={"graphql_budget": 4}, timeout=10)
    assert reset.json() == {"hourly_budget": 1000, "graphql_budget": 4}
    assert post(server, http, three).headers["x-ratelimit-remaining"] == "1"
    short = post(server, http, three)
    assert short.json()["errors"][0]["type"] == "RATE_LIMITED", "3 points asked, 1 left"
    assert post(server, http, "{ viewer { login } }").headers["x-ratelimit-remaining"] == "0"
    stats = requests.get(f"{server.url}/_simulator/stats", timeout=10).json()
    assert stats["graphql_points"] == 14 and stats["by_route"]["POST /graphql"] == 8
