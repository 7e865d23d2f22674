"""The GraphQL objects' common ground: the request's context, people and git objects.

Each class stands for one GitHub GraphQL type (``_typename``). A field resolves to the attribute of the same name in
snake case (``headRefOid`` -> ``head_ref_oid``): a property, or a method taking the field's arguments in snake case
(:func:`graphql_api.resolve_field`); a field of GitHub's schema that no class has is refused with an error naming it.
Values agree with the REST renderers for the same objects: ids, node ids (``render.node``), times, states.
Pull requests and deployments live in :mod:`graphql_delivery`, the organization, repositories and the root query in
:mod:`graphql_resolvers`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from graphql import GraphQLError

from .graphql_connection import Connection
from .models import Branch, Commit, GitTagObject, Repository, Tag, User
from .render import GHOST_ID, iso, node

if TYPE_CHECKING:
    from .render import Renderer
    from .world import World


def not_found(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"type": "NOT_FOUND"})


def ts(moment: datetime) -> int:
    return int(moment.timestamp())


def order_of(order_by: dict[str, Any] | None, default_field: str, default_direction: str = "ASC") -> tuple[str, bool]:
    """(field, descending) of an ``orderBy`` argument."""
    if not order_by:
        return default_field, default_direction == "DESC"
    return order_by.get("field", default_field), order_by.get("direction", default_direction) == "DESC"


@dataclass(slots=True)
class RateLimitInfo:
    """What ``rateLimit`` reports: this query's cost, and the budget after it."""

    cost: int
    limit: int
    node_count: int
    remaining: int
    used: int
    reset_at: str


@dataclass(slots=True)
class Context:
    world: World
    renderer: Renderer
    viewer: User
    rate: RateLimitInfo
    repository_class: Callable[[Context, Repository], Any]  # graphql_resolvers.RepositoryNode (it needs this module)
    request_id: str = ""
    fail_plan: Any = None  # graphql_api's plan for a partial_data fault

    def repository_node(self, repo: Repository) -> Any:
        return self.repository_class(self, repo)

    def repo_path(self, repo: Repository) -> str:
        return f"/{self.world.org_login}/{repo.name}"

    def url(self, path: str) -> str:
        return self.renderer.base + path


def copied(source: str, attribute: str) -> Any:
    """A field that is an attribute of the wrapped world object (``source``: the attribute holding it), as it is."""
    return property(lambda self: getattr(getattr(self, source), attribute))


def timestamp(source: str, attribute: str) -> Any:
    """A ``DateTime`` field: a time of the wrapped world object, as REST writes it."""
    return property(lambda self: iso(getattr(getattr(self, source), attribute)))


def global_id(prefix: str, source: str, attribute: str) -> Any:
    """An ``id`` field: the node id REST gives the object as ``node_id`` (``render.node``)."""
    return property(lambda self: node(prefix, getattr(getattr(self, source), attribute)))


class GqlObject:
    _typename: ClassVar[str] = ""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx


class InRepository(GqlObject):
    """An object of one repository (``repository`` is its ``Repository``)."""

    def __init__(self, ctx: Context, repo: Repository) -> None:
        super().__init__(ctx)
        self._repo = repo

    @property
    def repository(self) -> Any:
        return self._ctx.repository_node(self._repo)


class UrlMixin:
    _ctx: Context

    @property
    def resource_path(self) -> str:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return self._ctx.url(self.resource_path)


# -- people ------------------------------------------------------------------------------------------
class Actor(UrlMixin, GqlObject):
    """A ``User`` or ``Bot`` (``_typename``); GitHub's ghost for a deleted account where the field is non-null.

    A bot's login has no ``[bot]`` suffix in GraphQL (REST: ``name[bot]``), as on GitHub.
    """

    def __init__(self, ctx: Context, user: User | None) -> None:
        super().__init__(ctx)
        self._user = None if user is None or user.deleted else user
        self._typename = "Bot" if self._user is not None and self._user.type == "Bot" else "User"  # type: ignore[misc]

    @property
    def login(self) -> str:
        if self._user is None:
            return "ghost"
        return self._user.login.removesuffix("[bot]") if self._typename == "Bot" else self._user.login

    @property
    def database_id(self) -> int:
        return GHOST_ID if self._user is None else self._user.id

    @property
    def id(self) -> str:
        return node("U", self.database_id)

    @property
    def name(self) -> str | None:
        return "Deleted user" if self._user is None else self._user.name

    @property
    def email(self) -> str:
        return "" if self._user is None else self._user.email

    @property
    def created_at(self) -> str | None:
        return iso(self._ctx.world.now if self._user is None else self._user.created_at)

    updated_at = created_at

    @property
    def resource_path(self) -> str:
        return f"/{self.login}"

    def avatar_url(self, size: int | None = None) -> str:
        return f"{self._ctx.renderer.base}/avatars/u/{self.database_id}?v=4" + (f"&s={size}" if size else "")


def actor(ctx: Context, user: User | None) -> Actor | None:
    """A nullable ``Actor``: None for no account or a deleted one (REST lists say null there too)."""
    return None if user is None or user.deleted else Actor(ctx, user)


# -- git -----------------------------------------------------------------------------------------------
@dataclass(slots=True)
class GitActor:
    name: str | None
    email: str | None
    date: str | None
    user: Actor | None

    def avatar_url(self, size: int | None = None) -> str:
        return self.user.avatar_url(size) if self.user is not None else ""


class CommitNode(UrlMixin, InRepository):
    _typename = "Commit"

    def __init__(self, ctx: Context, repo: Repository, commit: Commit) -> None:
        super().__init__(ctx, repo)
        self._commit = commit

    oid = copied("_commit", "sha")

    @property
    def abbreviated_oid(self) -> str:
        return self._commit.sha[:7]

    @property
    def id(self) -> str:
        return node("C", self._commit.sha[:20])

    message = copied("_commit", "message")

    @property
    def message_headline(self) -> str:
        return self._commit.message.split("\n", 1)[0]

    @property
    def message_body(self) -> str:
        return self._commit.message.partition("\n")[2].strip("\n")

    authored_date = timestamp("_commit", "authored_at")
    committed_date = timestamp("_commit", "committed_at")

    @property
    def author(self) -> GitActor:
        c = self._commit
        return GitActor(c.author_name, c.author_email, iso(c.authored_at), actor(self._ctx, c.author))

    @property
    def committer(self) -> GitActor:
        c = self._commit
        return GitActor(c.committer_name, c.committer_email, iso(c.committed_at), actor(self._ctx, c.committer))

    @property
    def authored_by_committer(self) -> bool:
        return self._commit.author_email == self._commit.committer_email

    additions = copied("_commit", "additions")
    deletions = copied("_commit", "deletions")

    @property
    def changed_files_if_available(self) -> int:
        return len(self._commit.files or ("README.md",))

    def parents(self, **args: Any) -> Connection:
        known = [self._repo.commits[s] for s in self._commit.parents if s in self._repo.commits]
        return Connection(known, lambda c: CommitNode(self._ctx, self._repo, c), args)

    @property
    def resource_path(self) -> str:
        return f"{self._ctx.repo_path(self._repo)}/commit/{self._commit.sha}"


def commit_node(ctx: Context, repo: Repository, sha: str | None) -> CommitNode | None:
    commit = repo.commits.get(sha) if sha else None
    return None if commit is None else CommitNode(ctx, repo, commit)


class TagNode(InRepository):
    """An annotated tag object."""

    _typename = "Tag"

    def __init__(self, ctx: Context, repo: Repository, obj: GitTagObject) -> None:
        super().__init__(ctx, repo)
        self._obj = obj

    oid = copied("_obj", "sha")

    @property
    def abbreviated_oid(self) -> str:
        return self._obj.sha[:7]

    @property
    def id(self) -> str:
        return node("TAG", self._obj.sha[:20])

    name = copied("_obj", "tag")
    message = copied("_obj", "message")

    @property
    def tagger(self) -> GitActor:
        return GitActor(self._obj.tagger_name, self._obj.tagger_email, iso(self._obj.tagged_at), None)

    @property
    def target(self) -> CommitNode | TagNode | DanglingCommit:
        if self._obj.object_type == "tag" and self._obj.object_sha in self._repo.tag_objects:
            return TagNode(self._ctx, self._repo, self._repo.tag_objects[self._obj.object_sha])
        found = commit_node(self._ctx, self._repo, self._obj.object_sha)
        return found or DanglingCommit(self._ctx, self._repo, self._obj.object_sha)


class DanglingCommit(InRepository):
    """What a tag of the simulated world's quirks points at that is in no history: a commit known by its oid alone
    (REST's tag list and git refs give that sha; ``GET /commits/{sha}`` answers 422)."""

    _typename = "Commit"

    def __init__(self, ctx: Context, repo: Repository, sha: str) -> None:
        super().__init__(ctx, repo)
        self.oid = sha
        self.abbreviated_oid = sha[:7]
        self.id = node("C", sha[:20])


class RefNode(InRepository):
    """A branch or tag; its id is the git refs API's ``node_id`` (and the tag list's)."""

    _typename = "Ref"

    def __init__(self, ctx: Context, repo: Repository, prefix: str, name: str, object_sha: str) -> None:
        super().__init__(ctx, repo)
        self._prefix = prefix
        self._name = name
        self._object_sha = object_sha

    @property
    def id(self) -> str:
        return node("REF", f"{self._repo.id}:{self._prefix}{self._name}")

    @property
    def name(self) -> str:
        return self._name

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def target(self) -> CommitNode | TagNode | DanglingCommit:
        obj = self._repo.tag_objects.get(self._object_sha)
        if obj is not None:
            return TagNode(self._ctx, self._repo, obj)
        found = commit_node(self._ctx, self._repo, self._object_sha)
        return found or DanglingCommit(self._ctx, self._repo, self._object_sha)


def ref_of(ctx: Context, repo: Repository, prefix: str, item: Branch | Tag) -> RefNode:
    sha = item.object_sha if isinstance(item, Tag) else item.sha
    return RefNode(ctx, repo, prefix, item.name, sha)


def ref_named(ctx: Context, repo: Repository, prefix: str, name: str) -> RefNode | None:
    item: Branch | Tag | None = (repo.branches if prefix == "refs/heads/" else repo.tags).get(name)
    return None if item is None else ref_of(ctx, repo, prefix, item)
