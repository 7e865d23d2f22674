"""GraphQL: GitHub's schema validates every query, and each field a sync reads says what REST says of the object."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from github import Auth, Github
from github.GithubException import GithubException, UnknownObjectException

from delivery.simulator.graphql_api import SCHEMA_FILE
from delivery.simulator.server import SimulatorServer
from delivery.simulator.world import World

from .gql import data, post, rest_all, walk

PULLS = """
query($after: String) {
  repository(owner: "acme", name: "api") {
    pullRequests(first: 50, after: $after, orderBy: {field: UPDATED_AT, direction: DESC}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        databaseId fullDatabaseId id number title body state isDraft createdAt updatedAt closedAt mergedAt
        author { login ... on User { databaseId } }
        headRefName headRefOid baseRefName mergeCommit { oid } additions deletions changedFiles
        reviews(first: 100) {
          totalCount
          nodes {
            databaseId fullDatabaseId id state submittedAt commit { oid } author { login ... on User { databaseId } }
          }
        }
        commits(first: 100) {
          totalCount
          nodes { commit { oid authoredDate message author { name email date user { login databaseId } } } }
        }
        reviewRequests(first: 20) { totalCount nodes { requestedReviewer { ... on User { login databaseId } } } }
        labels(first: 10) { totalCount nodes { name } }
      }
    }
  }
}
"""

DEPLOYMENTS = """
query($after: String) {
  repository(owner: "acme", name: "billing") {
    deployments(first: 100, after: $after, orderBy: {field: CREATED_AT, direction: DESC}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        databaseId id environment originalEnvironment task ref { name prefix } commitOid commit { oid }
        createdAt updatedAt creator { login ... on Bot { databaseId } ... on User { databaseId } } description payload
        latestStatus { id state createdAt environmentUrl logUrl }
        statuses(first: 100) {
          totalCount
          nodes { id state createdAt updatedAt description environment environmentUrl logUrl creator { login } }
        }
      }
    }
  }
}
"""


def _login(user: dict[str, Any] | None) -> str | None:
    """REST's login as GraphQL says it (a bot without ``[bot]``)."""
    return None if user is None else user["login"].removesuffix("[bot]")


# -- the schema --------------------------------------------------------------------------------------------------
def test_the_schema_is_githubs_and_lives_in_the_repository() -> None:
    repository = Path(__file__).resolve().parents[2]
    assert SCHEMA_FILE.resolve().is_relative_to(repository)
    assert (SCHEMA_FILE.parent / "LICENSE.octokit-graphql-schema.md").is_file()
    assert "type PullRequest implements" in SCHEMA_FILE.read_text(encoding="utf-8")


def test_an_unknown_field_is_refused_as_github_refuses_it(server: SimulatorServer, http: requests.Session) -> None:
    response = post(server, http, "{ viewer { login nickname } }")
    assert response.status_code == 200
    assert response.json() == {
        "errors": [
            {
                "message": "Field 'nickname' doesn't exist on type 'User'",
                "locations": [{"line": 1, "column": 18}],
                "extensions": {"code": "undefinedField", "typeName": "User", "fieldName": "nickname"},
            }
        ]
    }
    argument = post(server, http, '{ repository(owner: "acme", name: "api", color: 1) { name } }').json()
    assert argument["errors"][0]["message"] == "Field 'repository' doesn't accept argument 'color'"
    assert "data" not in argument
    missing = post(server, http, '{ repository(owner: "acme") { name } }').json()
    assert missing["errors"][0]["message"] == "Field 'repository' is missing required arguments: name"
    assert missing["errors"][0]["extensions"]["code"] == "missingRequiredArguments"
    wrong_enum = post(
        server,
        http,
        '{ repository(owner: "acme", name: "api") { pullRequests(first: 1, states: [DONE]) { totalCount } } }',
    )
    assert wrong_enum.status_code == 200 and "DONE" in wrong_enum.json()["errors"][0]["message"]
    syntax = post(server, http, "{ viewer { login }")
    assert syntax.status_code == 200 and "Syntax Error" in syntax.json()["errors"][0]["message"]
    assert post(server, http, "").json() == {
        "errors": [{"message": "A query attribute must be specified and must be a string."}]
    }


def test_the_endpoint_wants_a_token_and_a_post(server: SimulatorServer, http: requests.Session) -> None:
    anonymous = requests.post(f"{server.url}/api/graphql", json={"query": "{ viewer { login } }"}, timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["message"] == "This endpoint requires you to be authenticated."
    assert http.get(f"{server.url}/api/graphql").status_code == 404
    assert http.post(f"{server.url}/api/graphql", data=b"{not json").status_code == 400
    github_com = http.post(f"{server.url}/graphql", json={"query": "{ viewer { login } }"})
    assert github_com.json() == {"data": {"viewer": {"login": "acme-automation"}}}


def test_pygithub_finds_the_endpoint_from_the_rest_address(server: SimulatorServer) -> None:
    gh = Github(base_url=server.api_url, auth=Auth.Token("x"), seconds_between_requests=0)
    assert gh.requester.graphql_url == f"{server.url}/api/graphql"
    headers, body = gh.requester.graphql_query("query { viewer { login databaseId } }", {})
    assert body == {"data": {"viewer": {"login": "acme-automation", "databaseId": 1}}}
    assert headers["x-ratelimit-resource"] == "graphql"
    with pytest.raises(UnknownObjectException):
        gh.requester.graphql_query('query { repository(owner: "acme", name: "nope") { id } }', {})
    with pytest.raises(GithubException):
        gh.requester.graphql_query("query { viewer { nope } }", {})
    gh.close()


def test_a_field_github_has_and_the_simulator_does_not_resolve_says_so(
    server: SimulatorServer, http: requests.Session
) -> None:
    body = post(server, http, '{ repository(owner: "acme", name: "api") { name stargazerCount } }').json()
    assert body["data"] == {"repository": None}
    assert body["errors"][0]["message"] == (
        "The GitHub simulator does not resolve Repository.stargazerCount (GitHub's schema has it)."
    )
    assert body["errors"][0]["path"] == ["repository", "stargazerCount"]


def test_not_found_is_githubs_error_with_the_rest_of_the_data(server: SimulatorServer, http: requests.Session) -> None:
    body = post(server, http, '{ viewer { login } repository(owner: "acme", name: "nope") { id } }').json()
    assert body["data"] == {"viewer": {"login": "acme-automation"}, "repository": None}
    assert body["errors"] == [
        {
            "type": "NOT_FOUND",
            "message": "Could not resolve to a Repository with the name 'acme/nope'.",
            "locations": [{"line": 1, "column": 20}],
            "path": ["repository"],
        }
    ]
    assert post(server, http, '{ organization(login: "other") { id } }').json()["errors"][0]["type"] == "NOT_FOUND"


# -- the same objects as REST ------------------------------------------------------------------------------------
def test_pull_requests_reviews_commits_and_requests_agree_with_rest(
    server: SimulatorServer, world: World, http: requests.Session
) -> None:
    nodes = walk(server, http, PULLS, ("repository", "pullRequests"))
    rest = rest_all(http, f"{server.api_url}/repos/acme/api/pulls", state="all", sort="updated", direction="desc")
    assert [n["number"] for n in nodes] == [p["number"] for p in rest]
    assert len(nodes) == len(world.repo("api").pulls)  # type: ignore[union-attr]
    states = set()
    for node, listed in zip(nodes, rest, strict=True):
        pull = http.get(listed["url"]).json()
        state = "MERGED" if pull["merged_at"] else pull["state"].upper()
        states.add(state)
        assert node["databaseId"] == pull["id"] and node["fullDatabaseId"] == str(pull["id"])
        assert node["id"] == pull["node_id"]
        assert (node["title"], node["body"], node["state"], node["isDraft"]) == (
            pull["title"],
            pull["body"],
            state,
            pull["draft"],
        )
        for field, key in (
            ("createdAt", "created_at"),
            ("updatedAt", "updated_at"),
            ("closedAt", "closed_at"),
            ("mergedAt", "merged_at"),
        ):
            assert node[field] == pull[key]
        assert node["author"] == (
            None if listed["user"] is None else {"login": pull["user"]["login"], "databaseId": pull["user"]["id"]}
        )
        assert (node["headRefName"], node["headRefOid"], node["baseRefName"]) == (
            pull["head"]["ref"],
            pull["head"]["sha"],
            pull["base"]["ref"],
        )
        assert node["mergeCommit"] == ({"oid": pull["merge_commit_sha"]} if pull["merged"] else None)
        assert (node["additions"], node["deletions"], node["changedFiles"]) == (
            pull["additions"],
            pull["deletions"],
            pull["changed_files"],
        )
        requested = [
            {"requestedReviewer": {"login": u["login"], "databaseId": u["id"]}} for u in pull["requested_reviewers"]
        ]
        assert node["reviewRequests"] == {"totalCount": len(requested), "nodes": requested}
        assert node["labels"] == {"totalCount": 0, "nodes": []}
        _same_reviews(node["reviews"], rest_all(http, f"{listed['url']}/reviews"))
        _same_commits(node["commits"], rest_all(http, f"{listed['url']}/commits"))
    assert states == {"OPEN", "CLOSED", "MERGED"}


def _same_reviews(connection: dict[str, Any], rest: list[dict[str, Any]]) -> None:
    assert connection["totalCount"] == len(rest)
    assert connection["nodes"] == [
        {
            "databaseId": r["id"],
            "fullDatabaseId": str(r["id"]),
            "id": r["node_id"],
            "state": r["state"],
            "submittedAt": r["submitted_at"],
            "commit": {"oid": r["commit_id"]},
            "author": None if r["user"] is None else {"login": r["user"]["login"], "databaseId": r["user"]["id"]},
        }
        for r in rest
    ]


def _same_commits(connection: dict[str, Any], rest: list[dict[str, Any]]) -> None:
    assert connection["totalCount"] == len(rest)
    assert connection["nodes"] == [
        {
            "commit": {
                "oid": c["sha"],
                "authoredDate": c["commit"]["author"]["date"],
                "message": c["commit"]["message"],
                "author": {
                    "name": c["commit"]["author"]["name"],
                    "email": c["commit"]["author"]["email"],
                    "date": c["commit"]["author"]["date"],
                    "user": None
                    if c["author"] is None
                    else {"login": c["author"]["login"], "databaseId": c["author"]["id"]},
                },
            }
        }
        for c in rest
    ]


def test_deployments_and_statuses_agree_with_rest(
    server: SimulatorServer, world: World, http: requests.Session
) -> None:
    nodes = walk(server, http, DEPLOYMENTS, ("repository", "deployments"))
    rest = rest_all(http, f"{server.api_url}/repos/acme/billing/deployments")
    assert [n["databaseId"] for n in nodes] == [d["id"] for d in rest] and len(rest) > 100
    repo = world.repo("billing")
    assert repo is not None
    for node, deployment in zip(nodes, rest, strict=True):
        assert node["id"] == deployment["node_id"]
        assert (node["environment"], node["originalEnvironment"], node["task"], node["description"]) == (
            deployment["environment"],
            deployment["original_environment"],
            deployment["task"],
            deployment["description"],
        )
        assert node["commitOid"] == node["commit"]["oid"] == deployment["sha"]
        assert (node["createdAt"], node["updatedAt"]) == (deployment["created_at"], deployment["updated_at"])
        assert node["creator"] == {"login": _login(deployment["creator"]), "databaseId": deployment["creator"]["id"]}
        assert json.loads(node["payload"]) == deployment["payload"]
        ref = deployment["ref"]
        if ref in repo.branches or ref in repo.tags:
            prefix = "refs/heads/" if ref in repo.branches else "refs/tags/"
            assert node["ref"] == {"name": ref, "prefix": prefix}
        else:
            assert node["ref"] is None  # GitHub's GraphQL: the ref no longer exists (or was a sha)
        statuses = rest_all(http, deployment["statuses_url"])
        expected = [
            {
                "id": s["node_id"],
                "state": s["state"].upper(),
                "createdAt": s["created_at"],
                "updatedAt": s["updated_at"],
                "description": s["description"],
                "environment": s["environment"],
                "environmentUrl": s["environment_url"] or None,
                "logUrl": s["log_url"] or None,
                "creator": {"login": _login(s["creator"])},
            }
            for s in statuses
        ]
        assert node["statuses"] == {"totalCount": len(statuses), "nodes": expected}
        latest = expected[0] if expected else None
        assert node["latestStatus"] == (latest and {k: latest[k] for k in node["latestStatus"]})
    assert {s["state"] for n in nodes for s in n["statuses"]["nodes"]} >= {"SUCCESS", "FAILURE", "INACTIVE"}
    production = rest_all(http, f"{server.api_url}/repos/acme/billing/deployments", environment="production")
    filtered = data(
        server,
        http,
        """{ repository(owner: "acme", name: "billing") {
             deployments(first: 100, environments: ["production"]) { totalCount nodes { databaseId } } } }""",
    )["repository"]["deployments"]
    assert filtered["totalCount"] == len(production) > 0
    assert [n["databaseId"] for n in filtered["nodes"]] == sorted(d["id"] for d in production)[:100]


def test_repositories_viewer_and_tags_agree_with_rest(server: SimulatorServer, http: requests.Session) -> None:
    found = data(
        server,
        http,
        """{
          viewer { login databaseId id }
          organization(login: "acme") {
            login databaseId id
            repositories(first: 100, orderBy: {field: NAME, direction: ASC}) {
              totalCount nodes { name nameWithOwner databaseId id isArchived createdAt pushedAt }
            }
          }
          repository(owner: "acme", name: "api") {
            defaultBranchRef { name target { oid } }
            refs(refPrefix: "refs/tags/", first: 100) { totalCount nodes { name id target { oid } } }
          }
        }""",
    )
    me, org = http.get(f"{server.api_url}/user").json(), http.get(f"{server.api_url}/orgs/acme").json()
    assert found["viewer"] == {"login": me["login"], "databaseId": me["id"], "id": me["node_id"]}
    assert (found["organization"]["databaseId"], found["organization"]["id"]) == (org["id"], org["node_id"])
    repos = sorted(rest_all(http, f"{server.api_url}/orgs/acme/repos"), key=lambda r: r["name"])
    assert found["organization"]["repositories"] == {
        "totalCount": len(repos),
        "nodes": [
            {
                "name": r["name"],
                "nameWithOwner": r["full_name"],
                "databaseId": r["id"],
                "id": r["node_id"],
                "isArchived": r["archived"],
                "createdAt": r["created_at"],
                "pushedAt": r["pushed_at"],
            }
            for r in repos
        ],
    }
    api = found["repository"]
    assert (
        api["defaultBranchRef"]["target"]["oid"]
        == http.get(f"{server.api_url}/repos/acme/api/git/ref/heads/main").json()["object"]["sha"]
    )
    tags = {t["name"]: t for t in rest_all(http, f"{server.api_url}/repos/acme/api/tags")}
    refs = {r["ref"]: r for r in http.get(f"{server.api_url}/repos/acme/api/git/matching-refs/tags").json()}
    assert api["refs"]["totalCount"] == len(tags) == len(refs)
    for ref in api["refs"]["nodes"]:
        assert ref["id"] == tags[ref["name"]]["node_id"] == refs[f"refs/tags/{ref['name']}"]["node_id"]
        assert ref["target"]["oid"] == refs[f"refs/tags/{ref['name']}"]["object"]["sha"]


def test_node_finds_what_a_rest_node_id_names(server: SimulatorServer, http: requests.Session) -> None:
    pull = http.get(f"{server.api_url}/repos/acme/api/pulls", params={"state": "closed"}).json()[0]
    deployment = http.get(f"{server.api_url}/repos/acme/billing/deployments").json()[0]
    status = http.get(deployment["statuses_url"]).json()[0]
    found = data(
        server,
        http,
        """query($pr: ID!, $status: ID!, $ids: [ID!]!) {
          pr: node(id: $pr) { ... on PullRequest { number reviews(first: 1) { totalCount } } }
          status: node(id: $status) { ... on DeploymentStatus { state deployment { databaseId } } }
          nodes(ids: $ids) { __typename id }
        }""",
        pr=pull["node_id"],
        status=status["node_id"],
        ids=[deployment["node_id"], pull["user"]["node_id"], "PR_bm9wZQ"],
    )
    assert found["pr"]["number"] == pull["number"]
    assert found["status"] == {"state": status["state"].upper(), "deployment": {"databaseId": deployment["id"]}}
    assert found["nodes"] == [
        {"__typename": "Deployment", "id": deployment["node_id"]},
        {"__typename": "User", "id": pull["user"]["node_id"]},
        None,
    ]
