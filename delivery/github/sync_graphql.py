"""The sync through GitHub's GraphQL API where it pays: pull requests with their reviews, own commits and review
requests, a page per query (REST needs two requests per pull request for those; the statuses of a page of
deployments in one query: sync_deployments.py). The pull-request pass first asks REST's list with its ETag: a 304
costs nothing, a GraphQL query always at least a point, so an unchanged repository is still read for free. Pages
start at PAGE_START objects, halve on GitHub's timeouts and 502s (large pages time out), and grow back after a
good page. GITHUB_SYNC_GRAPHQL off: the same pages, with REST's request per pull request and per deployment.

Everything is written through the ingest layer, as REST's pages and webhooks are; a page with its nested lists is
read in full first, then written in one transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from delivery.github import graphql_nodes as nodes
from delivery.github.client import GitHubClient, GitHubNotFound, GitHubUnavailable, list_of_objects
from delivery.github.graphql import graphql_query
from delivery.github.ingest import (
    ingest_pull_request_commits,
    ingest_pull_requests_with_details,
    ingest_reviews,
    parse_time,
)
from delivery.github.models import PullRequest, SyncCursor
from delivery.github.rows import IngestResult, Need, a_time, github_id

if TYPE_CHECKING:
    from delivery.github.sync import _RepositorySync

logger = logging.getLogger(__name__)
PAGE_START = 50
PAGE_MIN = 5
PAGE_MAX = 100
PULL_REQUEST_NEEDS: dict[str, Need] = {"id": github_id, "number": github_id, "updated_at": a_time}


@dataclass
class Pages:
    """A connection read page by page, the page size adapting to GitHub's timeouts: it starts at PAGE_START, doubles
    after each good page up to PAGE_MAX (fewer queries: a first sync's pages are its cost), and halves on a timeout;
    after one, it grows back no further than the size that last worked."""

    size: int = PAGE_START
    ceiling: int = PAGE_MAX
    after: str | None = None
    number: int = 0

    def read(self, job: _RepositorySync, query: str, connection: str) -> tuple[list[dict[str, Any]], str | None]:
        """The next page's nodes and the cursor after it (None at the end)."""
        repository = job.repository
        while True:
            variables = {"owner": repository.owner, "name": repository.name, "first": self.size, "after": self.after}
            try:
                data = graphql_query(job.client, query, variables)
            except GitHubUnavailable:
                if self.size <= PAGE_MIN:
                    raise
                self.size = self.ceiling = max(PAGE_MIN, self.size // 2)  # GitHub times out on large pages
                continue
            found = data.get("repository")
            if not isinstance(found, dict):
                raise GitHubNotFound(f"{repository.full_name}: GitHub's GraphQL knows no such repository", status=404)
            page = found.get(connection)
            self.number += 1
            self.size = min(self.ceiling, self.size * 2)
            return nodes.nodes(page), nodes.more(page)


def unchanged_since_last_pass(
    job: _RepositorySync, cursor: SyncCursor, url: str, params: dict[str, Any]
) -> tuple[bool, str]:
    """Ask REST's list with the ETag of the last complete pass (free when nothing changed): (unchanged, ETag)."""
    response = job.client.get(url, params=params, etag=cursor.etag, shape=list_of_objects)
    return response.not_modified, response.etag or cursor.etag


# -- pull requests ------------------------------------------------------------------------------------------------
@dataclass
class _PullRequestPage:
    items: list[dict[str, Any]] = field(default_factory=list)
    reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    commits: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


def pull_requests_pass(job: _RepositorySync, cursor: SyncCursor) -> None:
    """Newest changes first, down to the bookmark (the last pass's newest `updated_at`, or the backfill floor)."""
    # The most recently updated pull request comes first: any change to any of them changes this one-item page.
    probe = {"state": "all", "sort": "updated", "direction": "desc", "per_page": 1}
    unchanged, etag = unchanged_since_last_pass(job, cursor, f"{job.api}/pulls", probe)
    if unchanged:
        SyncCursor.objects.filter(pk=cursor.pk).update(last_attempt_at=timezone.now(), last_success_at=timezone.now())
        return
    since = cursor.high_water_at or job.floor
    high = cursor.high_water_at
    pages = Pages()
    while True:
        page_nodes, after = pages.read(job, nodes.PULL_REQUESTS, "pullRequests")
        page = _pull_request_page(job, page_nodes)
        fresh = [pr for pr in page.items if parse_time(pr["updated_at"]) >= since]
        _pull_requests_write(job, fresh, page)
        for pr in fresh:
            high = max(filter(None, (high, parse_time(pr["updated_at"]))))
        job._page_done("pull requests", pages.number, None)
        if len(fresh) < len(page.items) or after is None:
            break
        pages.after = after
    cursor.etag, cursor.high_water_at = etag, high
    cursor.last_success_at = cursor.last_attempt_at = timezone.now()
    cursor.last_error = ""
    cursor.save()


def _pull_request_page(job: _RepositorySync, page_nodes: list[dict[str, Any]]) -> _PullRequestPage:
    """A page's pull requests in REST's shape, each with every review and own commit (nested lists longer than a
    page are read on by the pull request's node id)."""
    page = _PullRequestPage()
    for node in page_nodes:
        item = nodes.pull_request(node)
        page.items.append(item)
        page.reviews[id(item)] = [
            nodes.review(n) for n in nested_all(job.client, node, "reviews", nodes.PULL_REQUEST_REVIEWS)
        ]
        page.commits[id(item)] = [
            nodes.pull_request_commit(n) for n in nested_all(job.client, node, "commits", nodes.PULL_REQUEST_COMMITS)
        ]
    screened = job._screened(page.items, PULL_REQUEST_NEEDS, "pull request")
    page.items = screened
    return page


def nested_all(client: GitHubClient, node: dict[str, Any], connection: str, query: str) -> list[dict[str, Any]]:
    """Every node of a nested connection: the first page came with `node`; the rest by the node's id."""
    found = nodes.nodes(node.get(connection))
    after = nodes.more(node.get(connection))
    while after is not None and node.get("id"):
        data = graphql_query(client, query, {"id": node["id"], "after": after})
        page = (data.get("node") or {}).get(connection)
        found += nodes.nodes(page)
        after = nodes.more(page)
    return found


def _pull_requests_write(job: _RepositorySync, fresh: list[dict[str, Any]], page: _PullRequestPage) -> None:
    """The page in one transaction: the pull requests, then the reviews and commits of those whose details are
    not stored for this version yet."""
    with transaction.atomic():
        job.summary.add(
            ingest_pull_requests_with_details(
                job.repository, [(item, page.reviews[id(item)], page.commits[id(item)]) for item in fresh]
            )
        )


def pull_request_details_read(
    client: GitHubClient, pull_request: PullRequest, *, updated_at: datetime | None
) -> IngestResult:
    """One pull request's reviews and own commits in one query (a webhook's follow-up; REST needs two lists), then
    marked synced for `updated_at`."""
    repository = pull_request.repository
    data = graphql_query(
        client,
        nodes.PULL_REQUEST_BY_NUMBER,
        {"owner": repository.owner, "name": repository.name, "number": pull_request.number},
    )
    node = (data.get("repository") or {}).get("pullRequest")
    if not isinstance(node, dict):
        raise GitHubNotFound(
            f"{repository.full_name}#{pull_request.number}: GitHub's GraphQL knows no such pull request"
        )
    result = IngestResult()
    reviews = [nodes.review(n) for n in nested_all(client, node, "reviews", nodes.PULL_REQUEST_REVIEWS)]
    commits = [nodes.pull_request_commit(n) for n in nested_all(client, node, "commits", nodes.PULL_REQUEST_COMMITS)]
    with transaction.atomic():
        result.add(ingest_reviews(pull_request, reviews))
        result.add(ingest_pull_request_commits(pull_request, commits))
        PullRequest.objects.filter(pk=pull_request.pk).update(details_synced_for=updated_at)
    return result
