"""GraphQL objects for what a sync reads: pull requests with their reviews, commits and review requests, and
deployments with their statuses (see :mod:`graphql_types` for how a class stands for a GitHub GraphQL type).

Where GitHub's GraphQL says a thing differently from its REST API, this says it as GitHub's GraphQL does: states are
upper case enums (a merged pull request is ``MERGED``, REST: ``closed`` with ``merged_at``), a deployment's
``payload`` is JSON text, its ``ref`` is null when the ref no longer exists (or was a sha), an empty
``environmentUrl``/``logUrl`` is null, a missing creator is GitHub's ghost (the field is non-null), a bot's login has
no ``[bot]``. Deployment statuses come newest first, as in REST, so ``statuses(first: 1)`` is ``latestStatus``.
"""

from __future__ import annotations

import json
from typing import Any

from .graphql_connection import Connection
from .graphql_types import (
    Actor,
    CommitNode,
    Context,
    InRepository,
    RefNode,
    UrlMixin,
    actor,
    commit_node,
    copied,
    global_id,
    order_of,
    ref_named,
    timestamp,
    ts,
)
from .models import Deployment, DeploymentStatus, PullRequest, Repository, Review, User
from .render import node

PR_COMMITS_LIMIT = 250  # GitHub lists at most 250 commits of a pull request (REST too)


# -- pull requests -------------------------------------------------------------------------------------
def pr_state(pr: PullRequest) -> str:
    return "MERGED" if pr.merged else pr.state.upper()


def pull_requests(
    ctx: Context,
    repo: Repository,
    states: list[str] | None = None,
    order_by: dict[str, Any] | None = None,
    head_ref_name: str | None = None,
    base_ref_name: str | None = None,
    labels: list[str] | None = None,
    **args: Any,
) -> Connection:
    """``Repository.pullRequests``: creation order unless ``orderBy`` (``CREATED_AT``/``UPDATED_AT``/``COMMENTS``)."""
    field, descending = order_of(order_by, "CREATED_AT")
    wanted = tuple(sorted(states)) if states else None

    def key(pr: PullRequest) -> tuple[Any, ...]:
        if field == "UPDATED_AT":
            return (ts(pr.updated_at), pr.number)
        if field == "COMMENTS":
            return (pr.comments, pr.number)
        return (ts(pr.created_at), pr.number)

    def build() -> list[PullRequest]:
        items = [p for p in repo.pulls.values() if wanted is None or pr_state(p) in wanted]
        items.sort(key=key, reverse=descending)
        return items

    items: list[PullRequest] = ctx.world.cached(repo, ("graphql_pulls", field, descending, wanted), build)
    if head_ref_name or base_ref_name or labels:
        items = [
            p
            for p in items
            if (head_ref_name is None or p.head_ref == head_ref_name)
            and (base_ref_name is None or p.base_ref == base_ref_name)
            and not labels  # the simulated pull requests carry no labels
        ]
    return Connection(items, lambda p: PullRequestNode(ctx, repo, p), args, key, descending)


class PullRequestNode(UrlMixin, InRepository):
    _typename = "PullRequest"

    def __init__(self, ctx: Context, repo: Repository, pr: PullRequest) -> None:
        super().__init__(ctx, repo)
        self._pr = pr

    database_id = copied("_pr", "id")

    @property
    def full_database_id(self) -> str:
        return str(self._pr.id)  # BigInt: a string in GitHub's JSON

    id = global_id("PR", "_pr", "id")

    number = copied("_pr", "number")
    title = copied("_pr", "title")
    body = copied("_pr", "body")

    @property
    def state(self) -> str:
        return pr_state(self._pr)

    is_draft = copied("_pr", "draft")

    @property
    def closed(self) -> bool:
        return self._pr.state == "closed"

    merged = copied("_pr", "merged")

    locked = False

    created_at = timestamp("_pr", "created_at")

    published_at = created_at

    updated_at = timestamp("_pr", "updated_at")
    closed_at = timestamp("_pr", "closed_at")
    merged_at = timestamp("_pr", "merged_at")

    @property
    def author(self) -> Actor | None:
        return actor(self._ctx, self._pr.user)

    @property
    def author_association(self) -> str:
        return self._ctx.renderer.author_association(self._pr.user)

    @property
    def merged_by(self) -> Actor | None:
        return actor(self._ctx, self._pr.merged_by)

    head_ref_name = copied("_pr", "head_ref")
    head_ref_oid = copied("_pr", "head_sha")

    @property
    def head_ref(self) -> RefNode | None:
        return ref_named(self._ctx, self._repo, "refs/heads/", self._pr.head_ref)

    base_ref_name = copied("_pr", "base_ref")
    base_ref_oid = copied("_pr", "base_sha")

    @property
    def base_ref(self) -> RefNode | None:
        return ref_named(self._ctx, self._repo, "refs/heads/", self._pr.base_ref)

    is_cross_repository = False

    @property
    def merge_commit(self) -> CommitNode | None:
        return commit_node(self._ctx, self._repo, self._pr.merge_commit_sha) if self._pr.merged else None

    additions = copied("_pr", "additions")
    deletions = copied("_pr", "deletions")
    changed_files = copied("_pr", "changed_files")

    @property
    def total_comments_count(self) -> int:
        return self._pr.comments + self._pr.review_comments

    @property
    def resource_path(self) -> str:
        return f"{self._ctx.repo_path(self._repo)}/pull/{self._pr.number}"

    @property
    def permalink(self) -> str:
        return self.url

    base_repository = head_repository = InRepository.repository

    def reviews(self, author: str | None = None, states: list[str] | None = None, **args: Any) -> Connection:
        items = [
            r
            for r in self._pr.reviews
            if (states is None or r.state in states)
            and (author is None or (r.user is not None and r.user.login.lower() == author.lower()))
        ]
        return Connection(items, lambda r: ReviewNode(self._ctx, self._repo, self._pr, r), args)

    def commits(self, **args: Any) -> Connection:
        shas = [s for s in self._pr.commit_shas[:PR_COMMITS_LIMIT] if s in self._repo.commits]
        return Connection(shas, lambda s: PullRequestCommitNode(self._ctx, self._repo, self._pr, s), args)

    def review_requests(self, **args: Any) -> Connection:
        users = [u for u in self._pr.requested_reviewers if not u.deleted]
        return Connection(users, lambda u: ReviewRequestNode(self._ctx, self._repo, self._pr, u), args)

    def labels(self, **args: Any) -> Connection:
        return Connection([], lambda item: item, args)


class ReviewNode(UrlMixin, InRepository):
    _typename = "PullRequestReview"

    def __init__(self, ctx: Context, repo: Repository, pr: PullRequest, review: Review) -> None:
        super().__init__(ctx, repo)
        self._pr = pr
        self._review = review

    database_id = copied("_review", "id")

    @property
    def full_database_id(self) -> str:
        return str(self._review.id)

    id = global_id("PRR", "_review", "id")

    @property
    def author(self) -> Actor | None:
        return actor(self._ctx, self._review.user)

    @property
    def author_association(self) -> str:
        return self._ctx.renderer.author_association(self._review.user)

    body = copied("_review", "body")
    state = copied("_review", "state")
    submitted_at = timestamp("_review", "submitted_at")

    created_at = published_at = updated_at = submitted_at

    @property
    def commit(self) -> CommitNode | None:
        return commit_node(self._ctx, self._repo, self._review.commit_id)

    @property
    def pull_request(self) -> PullRequestNode:
        return PullRequestNode(self._ctx, self._repo, self._pr)

    @property
    def resource_path(self) -> str:
        return f"{self._ctx.repo_path(self._repo)}/pull/{self._pr.number}#pullrequestreview-{self._review.id}"


class PullRequestCommitNode(UrlMixin, InRepository):
    _typename = "PullRequestCommit"

    def __init__(self, ctx: Context, repo: Repository, pr: PullRequest, sha: str) -> None:
        super().__init__(ctx, repo)
        self._pr = pr
        self._sha = sha

    @property
    def id(self) -> str:
        return node("PURC", f"{self._pr.id}:{self._sha}")

    @property
    def commit(self) -> CommitNode:
        return CommitNode(self._ctx, self._repo, self._repo.commits[self._sha])

    @property
    def pull_request(self) -> PullRequestNode:
        return PullRequestNode(self._ctx, self._repo, self._pr)

    @property
    def resource_path(self) -> str:
        return f"{self._ctx.repo_path(self._repo)}/pull/{self._pr.number}/commits/{self._sha}"


class ReviewRequestNode(InRepository):
    _typename = "ReviewRequest"

    def __init__(self, ctx: Context, repo: Repository, pr: PullRequest, user: User) -> None:
        super().__init__(ctx, repo)
        self._pr = pr
        self._user = user

    @property
    def id(self) -> str:
        return node("RR", f"{self._pr.id}:{self._user.id}")

    database_id = None

    as_code_owner = False

    @property
    def requested_reviewer(self) -> Actor | None:
        return actor(self._ctx, self._user)

    @property
    def pull_request(self) -> PullRequestNode:
        return PullRequestNode(self._ctx, self._repo, self._pr)


# -- deployments ---------------------------------------------------------------------------------------
DEPLOYMENT_STATES = {"success": "ACTIVE"}  # otherwise the latest status's state, upper case


def deployments(
    ctx: Context,
    repo: Repository,
    environments: list[str] | None = None,
    order_by: dict[str, Any] | None = None,
    **args: Any,
) -> Connection:
    """``Repository.deployments``: ``orderBy`` ``CREATED_AT`` (GitHub's only field), ascending by default."""
    _, descending = order_of(order_by, "CREATED_AT")
    wanted = tuple(sorted(environments)) if environments else None

    def build() -> list[Deployment]:
        items = [d for d in repo.deployments.values() if wanted is None or d.environment in wanted]
        items.sort(key=_deployment_key, reverse=descending)
        return items

    items: list[Deployment] = ctx.world.cached(repo, ("graphql_deployments", descending, wanted), build)
    return Connection(items, lambda d: DeploymentNode(ctx, repo, d), args, _deployment_key, descending)


def _deployment_key(deployment: Deployment) -> tuple[Any, ...]:
    """Creation order is id order, as on GitHub (the generated history has a few deployments whose ``created_at`` is
    seconds before their predecessor's; REST lists them in id order too)."""
    return (deployment.id,)


def _url_or_none(ctx: Context, value: str) -> str | None:
    return ctx.renderer.absolute(value) if value else None


class DeploymentNode(InRepository):
    _typename = "Deployment"

    def __init__(self, ctx: Context, repo: Repository, deployment: Deployment) -> None:
        super().__init__(ctx, repo)
        self._d = deployment

    database_id = copied("_d", "id")

    id = global_id("DE", "_d", "id")

    commit_oid = copied("_d", "sha")

    @property
    def commit(self) -> CommitNode | None:
        return commit_node(self._ctx, self._repo, self._d.sha)

    @property
    def ref(self) -> RefNode | None:
        branch = ref_named(self._ctx, self._repo, "refs/heads/", self._d.ref)
        return branch or ref_named(self._ctx, self._repo, "refs/tags/", self._d.ref)

    task = copied("_d", "task")
    environment = copied("_d", "environment")

    @property
    def original_environment(self) -> str:
        return self._d.original_environment or self._d.environment

    @property
    def latest_environment(self) -> str | None:
        return self._d.statuses[-1].environment if self._d.statuses else None

    description = copied("_d", "description")

    @property
    def payload(self) -> str:
        return payload_text(self._d.payload)

    @property
    def creator(self) -> Actor:
        return Actor(self._ctx, self._d.creator)

    created_at = timestamp("_d", "created_at")
    updated_at = timestamp("_d", "updated_at")

    @property
    def state(self) -> str:
        latest = self._d.latest_state
        return "PENDING" if latest is None else DEPLOYMENT_STATES.get(latest, latest.upper())

    @property
    def latest_status(self) -> DeploymentStatusNode | None:
        return DeploymentStatusNode(self._ctx, self._repo, self._d, self._d.statuses[-1]) if self._d.statuses else None

    def statuses(self, **args: Any) -> Connection:
        newest_first = list(reversed(self._d.statuses))

        def wrap(status: DeploymentStatus) -> DeploymentStatusNode:
            return DeploymentStatusNode(self._ctx, self._repo, self._d, status)

        return Connection(newest_first, wrap, args, lambda s: (s.id,), descending=True)


class DeploymentStatusNode(InRepository):
    """GitHub's GraphQL ``DeploymentStatus`` has no ``databaseId``: its ``id`` is REST's ``node_id``."""

    _typename = "DeploymentStatus"

    def __init__(self, ctx: Context, repo: Repository, deployment: Deployment, status: DeploymentStatus) -> None:
        super().__init__(ctx, repo)
        self._d = deployment
        self._s = status

    id = global_id("DES", "_s", "id")

    @property
    def state(self) -> str:
        return self._s.state.upper()

    description = copied("_s", "description")
    environment = copied("_s", "environment")

    @property
    def environment_url(self) -> str | None:
        return self._s.environment_url or None

    @property
    def log_url(self) -> str | None:
        return _url_or_none(self._ctx, self._s.log_url)

    @property
    def creator(self) -> Actor:
        return Actor(self._ctx, self._s.creator)

    created_at = timestamp("_s", "created_at")

    updated_at = created_at

    @property
    def deployment(self) -> DeploymentNode:
        return DeploymentNode(self._ctx, self._repo, self._d)


def payload_text(payload: dict[str, Any]) -> str:
    """A deployment's payload as GraphQL gives it: the JSON text of REST's object."""
    return json.dumps(payload, separators=(",", ":"))
