"""GraphQL objects over the simulated world: the root query, the organization and its repositories.

See :mod:`graphql_types` for how a class stands for a GitHub GraphQL type. ``node(id:)`` and ``nodes(ids:)`` find
what the REST ``node_id``s name: pull requests, reviews, deployments, deployment statuses, people, repositories and
the organization.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from .graphql_connection import Connection
from .graphql_delivery import (
    DeploymentNode,
    DeploymentStatusNode,
    PullRequestNode,
    ReviewNode,
    deployments,
    pull_requests,
)
from .graphql_types import (
    Actor,
    CommitNode,
    Context,
    GqlObject,
    RateLimitInfo,
    RefNode,
    UrlMixin,
    commit_node,
    copied,
    global_id,
    not_found,
    order_of,
    ref_named,
    ref_of,
    timestamp,
    ts,
)
from .models import Branch, Repository, Tag


# -- organization and repositories ---------------------------------------------------------------------
class Organization(UrlMixin, GqlObject):
    _typename = "Organization"

    @property
    def _org(self) -> Any:
        return self._ctx.world.org

    login = copied("_org", "login")
    database_id = copied("_org", "id")

    id = global_id("O", "_org", "id")

    name = copied("_org", "name")
    description = copied("_org", "description")

    @property
    def email(self) -> str:
        return f"engineering@{self._org.login}.test"

    created_at = timestamp("_org", "created_at")
    updated_at = timestamp("_org", "updated_at")

    @property
    def resource_path(self) -> str:
        return f"/{self._org.login}"

    def avatar_url(self, size: int | None = None) -> str:
        return f"{self._ctx.renderer.base}/avatars/u/{self._org.id}?v=4"

    def repositories(self, order_by: dict[str, Any] | None = None, is_archived: bool | None = None, **args: Any) -> Any:
        """Every repository GitHub lists for the organization (as ``GET /orgs/{org}/repos``)."""
        field, descending = order_of(order_by, "CREATED_AT")
        attribute = {"UPDATED_AT": "updated_at", "PUSHED_AT": "pushed_at", "NAME": "name"}.get(field, "created_at")

        def key(repo: Repository) -> tuple[Any, ...]:
            value = getattr(repo, attribute)
            return (value.lower() if isinstance(value, str) else ts(value), repo.id)

        repos = [r for r in self._ctx.world.repos.values() if is_archived is None or r.archived == is_archived]
        repos.sort(key=key, reverse=descending)
        return Connection(repos, lambda r: RepositoryNode(self._ctx, r), args, key, descending)

    def repository(self, name: str, follow_renames: bool = True) -> RepositoryNode | None:
        repo = self._ctx.world.repo(name)
        return None if repo is None else RepositoryNode(self._ctx, repo)


class RepositoryNode(UrlMixin, GqlObject):
    _typename = "Repository"

    def __init__(self, ctx: Context, repo: Repository) -> None:
        super().__init__(ctx)
        self._repo = repo

    database_id = copied("_repo", "id")

    id = global_id("R", "_repo", "id")

    name = copied("_repo", "name")

    @property
    def name_with_owner(self) -> str:
        return f"{self._ctx.world.org_login}/{self._repo.name}"

    @property
    def owner(self) -> Organization:
        return Organization(self._ctx)

    description = copied("_repo", "description")
    is_archived = copied("_repo", "archived")

    is_private = True

    is_fork = False

    created_at = timestamp("_repo", "created_at")
    updated_at = timestamp("_repo", "updated_at")
    pushed_at = timestamp("_repo", "pushed_at")

    @property
    def resource_path(self) -> str:
        return self._ctx.repo_path(self._repo)

    @property
    def default_branch_ref(self) -> RefNode | None:
        branch = self._repo.branches.get(self._repo.default_branch)
        return None if branch is None else RefNode(self._ctx, self._repo, "refs/heads/", branch.name, branch.sha)

    def ref(self, qualified_name: str) -> RefNode | None:
        for prefix in ("refs/heads/", "refs/tags/"):
            if qualified_name.startswith(prefix):
                return ref_named(self._ctx, self._repo, prefix, qualified_name.removeprefix(prefix))
        branch = ref_named(self._ctx, self._repo, "refs/heads/", qualified_name)
        return branch or ref_named(self._ctx, self._repo, "refs/tags/", qualified_name)

    def refs(
        self,
        ref_prefix: str,
        order_by: dict[str, Any] | None = None,
        direction: str | None = None,
        query: str | None = None,
        **args: Any,
    ) -> Connection:
        if not ref_prefix.endswith("/") or ref_prefix not in ("refs/heads/", "refs/tags/"):
            return Connection([], lambda item: item, args)
        field, descending = order_of(order_by, "ALPHABETICAL", direction or "ASC")
        repo = self._repo
        if ref_prefix == "refs/tags/":
            items: list[Branch | Tag] = list(repo.tags.values())
        else:
            items = list(repo.branches.values())
        if query:
            items = [item for item in items if query in item.name]

        def key(item: Branch | Tag) -> tuple[Any, ...]:
            if field == "TAG_COMMIT_DATE":
                commit = repo.commits.get(item.sha)
                return (ts(commit.committed_at) if commit else ts(item.created_at), item.name)
            return (item.name,)

        items.sort(key=key, reverse=descending)
        return Connection(items, lambda item: ref_of(self._ctx, repo, ref_prefix, item), args, key, descending)

    def object(self, oid: str | None = None, expression: str | None = None) -> CommitNode | None:
        sha = oid or (self._ctx.world.resolve_ref(self._repo, expression) if expression else None)
        return commit_node(self._ctx, self._repo, sha)

    def pull_requests(self, **args: Any) -> Connection:
        return pull_requests(self._ctx, self._repo, **args)

    def pull_request(self, number: int) -> PullRequestNode:
        pr = self._repo.pulls.get(number)
        if pr is None:
            raise not_found(f"Could not resolve to a PullRequest with the number of {number}.")
        return PullRequestNode(self._ctx, self._repo, pr)

    def deployments(self, **args: Any) -> Connection:
        return deployments(self._ctx, self._repo, **args)

    def labels(self, **args: Any) -> Connection:
        return Connection([], lambda item: item, args)


# -- the root ------------------------------------------------------------------------------------------
class QueryRoot(GqlObject):
    _typename = "Query"

    @property
    def viewer(self) -> Actor:
        return Actor(self._ctx, self._ctx.viewer)

    def organization(self, login: str) -> Organization:
        if login.lower() != self._ctx.world.org_login.lower():
            raise not_found(f"Could not resolve to an Organization with the login of '{login}'.")
        return Organization(self._ctx)

    def repository(self, owner: str, name: str, follow_renames: bool = True) -> RepositoryNode:
        repo = self._ctx.world.repo(name) if owner.lower() == self._ctx.world.org_login.lower() else None
        if repo is None:
            raise not_found(f"Could not resolve to a Repository with the name '{owner}/{name}'.")
        return RepositoryNode(self._ctx, repo)

    def user(self, login: str) -> Actor:
        user = self._ctx.world.user(login)
        if user is None or user.deleted or user.type == "Bot":
            raise not_found(f"Could not resolve to a User with the login of '{login}'.")
        return Actor(self._ctx, user)

    def rate_limit(self, dry_run: bool = False) -> RateLimitInfo:
        return self._ctx.rate

    def node(self, id: str) -> Any:
        found = find_node(self._ctx, id)
        if found is None:
            raise not_found(f"Could not resolve to a node with the global id of '{id}'")
        return found

    def nodes(self, ids: list[str]) -> list[Any]:
        return [find_node(self._ctx, one) for one in ids]


def find_node(ctx: Context, node_id: str) -> Any:
    """The object a node id (REST's ``node_id``, GraphQL's ``id``) names, or None."""
    prefix, _, encoded = node_id.partition("_")
    try:
        text = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True).decode()
    except (binascii.Error, UnicodeError):
        return None
    if not text.startswith(prefix) or not text[len(prefix) :].isdigit():
        return None
    number = int(text[len(prefix) :])
    world = ctx.world
    if prefix == "O":
        return Organization(ctx) if number == world.org.id else None
    if prefix == "U":
        user = world.users.get(number)
        return None if user is None or user.deleted else Actor(ctx, user)
    for repo in world.served_repos:
        found = _in_repo(ctx, repo, prefix, number)
        if found is not None:
            return found
    return None


def _in_repo(ctx: Context, repo: Repository, prefix: str, number: int) -> Any:
    if prefix == "R":
        return RepositoryNode(ctx, repo) if repo.id == number else None
    if prefix == "DE":
        deployment = repo.deployments.get(number)
        return None if deployment is None else DeploymentNode(ctx, repo, deployment)
    index: dict[tuple[str, int], Any] = ctx.world.cached(repo, "graphql_node_ids", lambda: _node_index(repo))
    found = index.get((prefix, number))
    if found is None:
        return None
    if prefix == "PR":
        return PullRequestNode(ctx, repo, found)
    if prefix == "PRR":
        return ReviewNode(ctx, repo, *found)
    return DeploymentStatusNode(ctx, repo, *found)


def _node_index(repo: Repository) -> dict[tuple[str, int], Any]:
    index: dict[tuple[str, int], Any] = {}
    for pr in repo.pulls.values():
        index["PR", pr.id] = pr
        for review in pr.reviews:
            index["PRR", review.id] = (pr, review)
    for deployment in repo.deployments.values():
        for status in deployment.statuses:
            index["DES", status.id] = (deployment, status)
    return index
