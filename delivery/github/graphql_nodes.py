"""The GraphQL queries the sync sends, and GraphQL's nodes turned into the shapes the ingest layer takes (REST's),
so that webhooks, REST and GraphQL write through the same functions."""

from __future__ import annotations

import json
from typing import Any

RATE_LIMIT = "rateLimit { cost remaining resetAt }"
ACTOR = "login avatarUrl url ... on User { databaseId } ... on Bot { databaseId } __typename"
USER = "login avatarUrl url databaseId __typename"  # where the schema says User, not any Actor (a git author)

REVIEW_FIELDS = f"id fullDatabaseId state submittedAt url commit {{ oid }} author {{ {ACTOR} }}"
COMMIT_FIELDS = (
    "commit { oid message authoredDate committedDate "
    f"author {{ name email date user {{ {USER} }} }} committer {{ date }} }}"
)
PULL_REQUEST_FIELDS = f"""
  id fullDatabaseId number title body state isDraft url createdAt updatedAt closedAt mergedAt
  author {{ {ACTOR} }}
  mergedBy {{ {ACTOR} }}
  headRefName headRefOid baseRefName mergeCommit {{ oid }}
  additions deletions changedFiles
  reviews(first: 100) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {REVIEW_FIELDS} }} }}
  commits(first: 100) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {COMMIT_FIELDS} }} }}
  reviewRequests(first: 100) {{ nodes {{ requestedReviewer {{ ... on User {{ login databaseId __typename }} }} }} }}
"""

PULL_REQUESTS = f"""
query PullRequests($owner: String!, $name: String!, $first: Int!, $after: String) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    pullRequests(first: $first, after: $after, orderBy: {{field: UPDATED_AT, direction: DESC}}) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ {PULL_REQUEST_FIELDS} }}
    }}
  }}
}}
"""

PULL_REQUEST_REVIEWS = f"""
query PullRequestReviews($id: ID!, $after: String) {{
  {RATE_LIMIT}
  node(id: $id) {{ ... on PullRequest {{
    reviews(first: 100, after: $after) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {REVIEW_FIELDS} }} }}
  }} }}
}}
"""

PULL_REQUEST_COMMITS = f"""
query PullRequestCommits($id: ID!, $after: String) {{
  {RATE_LIMIT}
  node(id: $id) {{ ... on PullRequest {{
    commits(first: 100, after: $after) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {COMMIT_FIELDS} }} }}
  }} }}
}}
"""

PULL_REQUEST_BY_NUMBER = f"""
query PullRequest($owner: String!, $name: String!, $number: Int!) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{ pullRequest(number: $number) {{ {PULL_REQUEST_FIELDS} }} }}
}}
"""

STATUS_FIELDS = f"id state createdAt updatedAt description environmentUrl logUrl creator {{ {ACTOR} }}"
DEPLOYMENT_STATUSES = f"""
query DeploymentStatuses($id: ID!, $after: String) {{
  {RATE_LIMIT}
  node(id: $id) {{ ... on Deployment {{
    statuses(first: 100, after: $after) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {STATUS_FIELDS} }} }}
  }} }}
}}
"""

DEPLOYMENTS = f"""
query Deployments($owner: String!, $name: String!, $first: Int!, $after: String) {{
  {RATE_LIMIT}
  repository(owner: $owner, name: $name) {{
    deployments(first: $first, after: $after, orderBy: {{field: CREATED_AT, direction: DESC}}) {{
      pageInfo {{ hasNextPage endCursor }}
      nodes {{
        id databaseId environment originalEnvironment commitOid ref {{ name }} task payload description
        createdAt updatedAt creator {{ {ACTOR} }}
        statuses(first: 100) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {STATUS_FIELDS} }} }}
      }}
    }}
  }}
}}
"""


# -- nodes as the ingest layer takes them (REST's shapes) -------------------------------------------------------
def actor(node: Any) -> dict[str, Any] | None:
    """A user or bot: REST names bots `login[bot]`, GraphQL without the suffix; the id is the same."""
    if not isinstance(node, dict) or not node.get("login"):
        return None
    bot = node.get("__typename") == "Bot"
    login = str(node["login"])
    user: dict[str, Any] = {"login": f"{login}[bot]" if bot and not login.endswith("[bot]") else login}
    if node.get("databaseId") is not None:
        user["id"] = node["databaseId"]
    user["type"] = "Bot" if bot else "User"
    for field, key in (("avatarUrl", "avatar_url"), ("url", "html_url")):
        if node.get(field):
            user[key] = node[field]
    return user


def _big_id(node: dict[str, Any]) -> Any:
    """`fullDatabaseId` (GitHub's BigInt, sent as a string) as REST's number, or what it was when it is not one."""
    value = node.get("fullDatabaseId")
    if value is None:
        value = node.get("databaseId")
    return int(value) if isinstance(value, str) and value.isdigit() else value


def nodes(connection: Any) -> list[dict[str, Any]]:
    found = connection.get("nodes") if isinstance(connection, dict) else None
    return [n for n in found if isinstance(n, dict)] if isinstance(found, list) else []


def more(connection: Any) -> str | None:
    """The cursor of the next page, or None when this was the last."""
    info = connection.get("pageInfo") if isinstance(connection, dict) else None
    if isinstance(info, dict) and info.get("hasNextPage") and isinstance(info.get("endCursor"), str):
        return str(info["endCursor"])
    return None


def pull_request(node: dict[str, Any]) -> dict[str, Any]:
    merge_commit = node.get("mergeCommit") or {}
    reviewers = [actor((r or {}).get("requestedReviewer")) for r in nodes(node.get("reviewRequests"))]
    return {
        "id": _big_id(node),
        "node_id": node.get("id"),
        "number": node.get("number"),
        "title": node.get("title"),
        "body": node.get("body"),
        "state": "open" if node.get("state") == "OPEN" else "closed",
        "draft": bool(node.get("isDraft")),
        "html_url": node.get("url"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "closed_at": node.get("closedAt"),
        "merged_at": node.get("mergedAt"),
        "user": actor(node.get("author")),
        "merged_by": actor(node.get("mergedBy")),
        "head": {"ref": node.get("headRefName"), "sha": node.get("headRefOid")},
        "base": {"ref": node.get("baseRefName")},
        "merge_commit_sha": merge_commit.get("oid") if isinstance(merge_commit, dict) else None,
        "requested_reviewers": [r for r in reviewers if r is not None],
        "additions": node.get("additions"),
        "deletions": node.get("deletions"),
        "changed_files": node.get("changedFiles"),
    }


def review(node: dict[str, Any]) -> dict[str, Any]:
    commit = node.get("commit") or {}
    return {
        "id": _big_id(node),
        "node_id": node.get("id"),
        "user": actor(node.get("author")),
        "state": node.get("state"),
        "submitted_at": node.get("submittedAt"),
        "commit_id": commit.get("oid") if isinstance(commit, dict) else None,
        "html_url": node.get("url"),
    }


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def pull_request_commit(node: dict[str, Any]) -> dict[str, Any]:
    commit = _object(node.get("commit"))
    author = _object(commit.get("author"))
    committer = _object(commit.get("committer"))
    return {
        "sha": commit.get("oid"),
        "commit": {
            "message": commit.get("message"),
            "author": {"name": author.get("name"), "email": author.get("email"), "date": commit.get("authoredDate")},
            "committer": {"date": committer.get("date") or commit.get("committedDate")},
        },
        "author": actor(author.get("user")),
    }


STATUS_STATES = {"IN_PROGRESS": "in_progress"}


def deployment_status(node: dict[str, Any]) -> dict[str, Any]:
    state = str(node.get("state") or "")
    return {
        "node_id": node.get("id"),
        "state": STATUS_STATES.get(state, state.lower()),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "description": node.get("description"),
        "environment_url": node.get("environmentUrl"),
        "log_url": node.get("logUrl"),
        "creator": actor(node.get("creator")),
    }


def _payload(text: Any) -> Any:
    """GraphQL gives a deployment's payload as JSON text; REST as the object."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {}


def deployment(node: dict[str, Any]) -> dict[str, Any]:
    """A deployment without what GraphQL does not say: no transient/production flags (environments are classified
    by the repository's settings), and no `ref` when GraphQL's is null (the branch or tag is gone), so the row keeps
    what REST or a webhook said (ingest_deployments leaves out a field the item lacks)."""
    ref = node.get("ref")
    item = {
        "id": node.get("databaseId"),
        "node_id": node.get("id"),
        "sha": node.get("commitOid"),
        "task": node.get("task"),
        "payload": _payload(node.get("payload")),
        "environment": node.get("environment"),
        "original_environment": node.get("originalEnvironment"),
        "description": node.get("description"),
        "creator": actor(node.get("creator")),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
    }
    if isinstance(ref, dict) and isinstance(ref.get("name"), str) and ref["name"]:
        item["ref"] = ref["name"]
    return item
