"""GitHub's GraphQL API through the same client as REST: one POST per query, retried like a read, its points
counted, and its errors told apart like REST's (a rate limit is a wait, a missing repository is a 404, a damaged
or partial answer is an outage to retry). A 200 that carries an `errors` list is an error, never an empty page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from delivery.github.client import (
    SECONDARY_LIMIT_FALLBACK_SECONDS,
    GitHubBadAnswer,
    GitHubClient,
    GitHubError,
    GitHubNotFound,
    GitHubRateLimited,
    an_object,
)

RATE_LIMITED = frozenset({"RATE_LIMITED", "RATE_LIMIT"})  # GitHub has been seen sending both
NOT_FOUND = "NOT_FOUND"
QUERY_MISTAKES = frozenset(
    {"MAX_NODE_LIMIT_EXCEEDED", "EXCESSIVE_PAGINATION", "MISSING_PAGINATION_BOUNDARIES", "INVALID_CURSOR_ARGUMENTS"}
)


class GitHubQueryRefused(GitHubError):
    """GitHub refused the query itself (a field it does not have, a page too large): a mistake of ours, not an
    outage; retrying would fail the same way."""

    permanent = True


def graphql_url(client: GitHubClient) -> str:
    """Where GraphQL lives beside the REST base: api.github.com/graphql, or <server>/api/graphql on GitHub
    Enterprise Server (whose REST base is <server>/api/v3)."""
    base = client.base_url
    return base[: -len("/v3")] + "/graphql" if base.endswith("/api/v3") else base + "/graphql"


def graphql_query(client: GitHubClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one query; returns its `data`. Raises GitHubRateLimited (points spent, or a secondary limit),
    GitHubNotFound, GitHubQueryRefused, or GitHubBadAnswer / GitHubUnavailable (retried first, like a REST read)."""
    url = graphql_url(client)
    response = client.request(
        "POST", url, body={"query": query, "variables": variables or {}}, shape=an_object, read=True
    )
    client.counters.graphql_requests += 1
    answer: dict[str, Any] = response.data
    errors = answer.get("errors")
    data = answer.get("data")
    if isinstance(data, dict) and isinstance(data.get("rateLimit"), dict):
        client.counters.graphql_points += int(data["rateLimit"].get("cost") or 0)
    if errors:
        raise _error(errors, response.headers, data, url)
    if not isinstance(data, dict):
        raise GitHubBadAnswer(f"GitHub's GraphQL answer has no data: POST {url}", status=response.status)
    return data


def _error(errors: Any, headers: dict[str, str], data: Any, url: str) -> GitHubError:
    listed = [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
    kinds = {str(e.get("type") or "") for e in listed}
    codes = {
        str((e.get("extensions") or {}).get("code") or "") for e in listed if isinstance(e.get("extensions"), dict)
    }
    words = "; ".join(str(e.get("message") or "") for e in listed)[:500] or "an error list without words"
    where = f"POST {url}"
    if kinds & RATE_LIMITED:
        return GitHubRateLimited(
            f"GitHub GraphQL rate limit: {words}", retry_at=_reset(headers, data), secondary=False, status=200
        )
    if NOT_FOUND in kinds:
        return GitHubNotFound(f"GitHub GraphQL: {words}: {where}", status=404)
    if kinds & QUERY_MISTAKES or (not data and codes - {""}):
        return GitHubQueryRefused(f"GitHub refused the GraphQL query: {words}: {where}", status=200)
    # A partial answer (a field GitHub could not resolve in time) or an error of GitHub's own: read again.
    return GitHubBadAnswer(f"GitHub's GraphQL answer carries errors: {words}: {where}", status=200)


def _reset(headers: dict[str, str], data: Any) -> datetime:
    now = datetime.now(UTC)
    reset = headers.get("x-ratelimit-reset", "")
    if reset.isdigit():
        return max(now, datetime.fromtimestamp(int(reset), UTC) + timedelta(seconds=1))
    limit = data.get("rateLimit") if isinstance(data, dict) else None
    if isinstance(limit, dict) and isinstance(limit.get("resetAt"), str):
        try:
            return max(now, datetime.fromisoformat(limit["resetAt"].replace("Z", "+00:00")))
        except ValueError:
            pass
    return now + timedelta(seconds=SECONDARY_LIMIT_FALLBACK_SECONDS)
