"""GraphQL fault switches: GitHub's primary and secondary limits, the 502 a large page meets, an ``errors`` list
beside partial ``data``; REST's switches reach GraphQL where GitHub's failures would."""

from __future__ import annotations

import time

import pytest
import requests

from delivery.simulator.server import SimulatorServer

from .gql import post

PULLS = """
query($first: Int!) {
  rateLimit { cost nodeCount }
  repository(owner: "acme", name: "api") {
    pullRequests(first: $first, orderBy: {field: UPDATED_AT, direction: DESC}) {
      nodes { number reviews(first: 20) { totalCount } commits(first: 20) { totalCount } }
    }
  }
}
"""
SOMETHING_WENT_WRONG = "Something went wrong while executing your query."


def _add(server: SimulatorServer, **fault: object) -> requests.Response:
    return requests.post(f"{server.url}/_simulator/faults", json=fault, timeout=10)


def test_primary_rate_limit_is_githubs_rate_limited_answer(
    fresh_server: SimulatorServer, http: requests.Session
) -> None:
    assert _add(fresh_server, kind="primary_rate_limit", path_contains="/graphql", reset_in=30).status_code == 201
    assert http.get(f"{fresh_server.api_url}/orgs/acme").status_code == 200, "REST is not /graphql"
    limited = post(fresh_server, http, "{ viewer { login } }")
    assert limited.status_code == 200
    assert limited.json()["errors"][0]["type"] == "RATE_LIMITED" and "data" not in limited.json()
    assert limited.headers["x-ratelimit-remaining"] == "0" and limited.headers["x-ratelimit-resource"] == "graphql"
    assert int(limited.headers["x-ratelimit-reset"]) >= time.time() + 25
    assert post(fresh_server, http, "{ viewer { login } }").json() == {"data": {"viewer": {"login": "acme-automation"}}}
    _add(fresh_server, kind="primary_rate_limit", status=403)
    forbidden = post(fresh_server, http, "{ viewer { login } }")
    assert forbidden.status_code == 403 and forbidden.json()["errors"][0]["type"] == "RATE_LIMITED"
    _add(fresh_server, kind="primary_rate_limit")
    assert http.get(f"{fresh_server.api_url}/orgs/acme").status_code == 403, "REST's default stays 403"


def test_secondary_rate_limit_is_a_403_with_retry_after(fresh_server: SimulatorServer, http: requests.Session) -> None:
    fresh_server.faults.add(kind="secondary_rate_limit", path_contains="/graphql", retry_after=30)
    limited = post(fresh_server, http, "{ viewer { login } }")
    assert limited.status_code == 403 and limited.headers["retry-after"] == "30"
    assert "secondary rate limit" in limited.json()["message"]
    assert post(fresh_server, http, "{ viewer { login } }").status_code == 200


def test_a_large_page_times_out_with_a_502_and_a_smaller_one_passes(
    fresh_server: SimulatorServer, http: requests.Session
) -> None:
    # 50 pull requests with 20 reviews and 20 commits each may return 2,050 nodes; 10 of them 410
    assert _add(fresh_server, kind="server_error", status=502, nodes_over=1000, count=3).status_code == 201
    used = post(fresh_server, http, "{ viewer { login } }").headers["x-ratelimit-used"]
    large = post(fresh_server, http, PULLS, {"first": 50})
    assert large.status_code == 502
    assert large.json()["data"] is None
    assert large.json()["errors"][0]["message"].startswith(SOMETHING_WENT_WRONG)
    assert large.headers["x-github-request-id"] in large.json()["errors"][0]["message"]
    assert large.headers["x-ratelimit-used"] == used, "a query that timed out costs nothing"
    small = post(fresh_server, http, PULLS, {"first": 10})
    assert small.status_code == 200 and small.json()["data"]["rateLimit"]["nodeCount"] == 410
    assert fresh_server.faults.describe()[0]["count"] == 2, "only large pages spend it"
    assert http.get(f"{fresh_server.api_url}/repos/acme/api/pulls").status_code == 200, "REST has no nodes"
    fresh_server.faults.add(kind="server_error", status=503)
    assert post(fresh_server, http, PULLS, {"first": 1}).status_code == 503, "any API request, GraphQL too"


def test_partial_data_nulls_a_nested_connection_and_says_so(
    fresh_server: SimulatorServer, http: requests.Session
) -> None:
    whole = post(fresh_server, http, PULLS, {"first": 3}).json()
    _add(fresh_server, kind="partial_data")
    partial = post(fresh_server, http, PULLS, {"first": 3})
    assert partial.status_code == 200
    body = partial.json()
    whole_nodes = whole["data"]["repository"]["pullRequests"]["nodes"]
    assert body["data"]["repository"]["pullRequests"]["nodes"][0] == {**whole_nodes[0], "reviews": None}
    assert body["data"]["repository"]["pullRequests"]["nodes"][1:] == whole_nodes[1:]
    [error] = body["errors"]
    assert error["message"].startswith(SOMETHING_WENT_WRONG)
    assert error["path"] == ["repository", "pullRequests", "nodes", 0, "reviews"] and error["locations"]
    _add(fresh_server, kind="partial_data", field="commits")
    named = post(fresh_server, http, PULLS, {"first": 3}).json()
    assert named["errors"][0]["path"] == ["repository", "pullRequests", "nodes", 0, "commits"]
    _add(fresh_server, kind="partial_data")
    tags = '{ repository(owner: "acme", name: "api") { name refs(refPrefix: "refs/tags/", first: 1) { totalCount } } }'
    flat = post(fresh_server, http, tags).json()
    assert flat["data"] == {"repository": {"name": "api", "refs": None}}
    _add(fresh_server, kind="partial_data", field="reviews")
    unreached = post(fresh_server, http, '{ viewer { login } organization(login: "acme") { login } }').json()
    assert unreached["data"] is None, "viewer is non-null: its failure takes the whole data"
    assert unreached["errors"][0]["path"] == ["viewer"]
    assert len(fresh_server.faults) == 0
    assert post(fresh_server, http, PULLS, {"first": 3}).json() == whole


def test_fault_switches_are_checked_and_keep_to_their_surface(
    fresh_server: SimulatorServer, http: requests.Session
) -> None:
    bad = [
        {"kind": "server_error", "field": "reviews"},
        {"kind": "partial_data", "status": 502},
        {"kind": "server_error", "nodes_over": -1},
        {"kind": "partial_data", "nodes": 3},
    ]
    assert [_add(fresh_server, **fault).status_code for fault in bad] == [422] * 4
    _add(fresh_server, kind="partial_data")
    assert http.get(f"{fresh_server.api_url}/orgs/acme").json()["login"] == "acme", "GraphQL's only"
    assert len(fresh_server.faults) == 1
    fresh_server.faults.clear()
    _add(fresh_server, kind="validation_failed")
    assert post(fresh_server, http, "{ viewer { login } }").status_code == 200, "REST's only"
    assert http.get(f"{fresh_server.api_url}/orgs/acme").status_code == 422
    invalid = post(fresh_server, http, "{ viewer { nope } }")
    _add(fresh_server, kind="server_error")
    assert post(fresh_server, http, "{ viewer { nope } }").json() == invalid.json(), "an invalid query meets no fault"
    assert len(fresh_server.faults) == 1


@pytest.mark.parametrize(("kind", "damage"), [("damaged_body", "truncated"), ("cut_body", "length")])
def test_a_spoilt_answer_reaches_graphql_too(
    fresh_server: SimulatorServer, http: requests.Session, kind: str, damage: str
) -> None:
    fresh_server.faults.add(kind=kind, damage=damage, path_contains="/graphql")
    if kind == "cut_body":
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            post(fresh_server, http, PULLS, {"first": 5})
    else:
        with pytest.raises(ValueError):
            post(fresh_server, http, PULLS, {"first": 5}).json()
    assert post(fresh_server, http, PULLS, {"first": 5}).status_code == 200
