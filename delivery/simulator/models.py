"""Plain dataclasses for everything the simulated GitHub holds.

Objects reference each other directly (a review holds its ``User``, a run its ``Workflow``); the
renderers in :mod:`render` turn them into GitHub-shaped JSON. Every timestamp is an aware UTC datetime.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True, eq=False)
class User:
    id: int
    login: str
    name: str
    email: str
    created_at: datetime
    type: str = "User"  # "User" or "Bot"
    role: str | None = None  # "admin" / "member" for organization members, None otherwise
    deleted: bool = False  # account deleted: rendered as null (lists) or GitHub's "ghost" (single PR)
    location: str | None = None

    @property
    def is_member(self) -> bool:
        return self.role is not None and not self.deleted


@dataclass(slots=True, eq=False)
class Team:
    id: int
    slug: str
    name: str
    description: str
    members: list[User]
    created_at: datetime


@dataclass(slots=True, eq=False)
class Commit:
    sha: str
    message: str
    author: User | None  # the GitHub account, None when the e-mail matches none
    author_name: str
    author_email: str
    authored_at: datetime
    committer_name: str
    committer_email: str
    committed_at: datetime
    parents: tuple[str, ...]
    tree_sha: str
    additions: int = 0
    deletions: int = 0
    files: tuple[str, ...] = ()
    committer: User | None = None


@dataclass(slots=True, eq=False)
class Branch:
    name: str
    sha: str
    created_at: datetime
    protected: bool = False
    commits: list[str] = field(default_factory=list)  # pushed since the branch was created, oldest first


@dataclass(slots=True, eq=False)
class Review:
    id: int
    user: User | None
    state: str  # APPROVED / CHANGES_REQUESTED / COMMENTED
    body: str
    commit_id: str
    submitted_at: datetime


@dataclass(slots=True, eq=False)
class PullRequest:
    id: int
    number: int
    title: str
    body: str
    user: User
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    created_at: datetime
    updated_at: datetime
    draft: bool = False
    state: str = "open"
    closed_at: datetime | None = None
    merged_at: datetime | None = None
    merged_by: User | None = None
    merge_commit_sha: str | None = None
    merge_method: str | None = None  # "squash" / "merge" once merged
    ready_at: datetime | None = None  # when a draft was marked ready for review
    commit_shas: list[str] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    requested_reviewers: list[User] = field(default_factory=list)
    additions: int = 0
    deletions: int = 0
    changed_files: int = 0
    comments: int = 0
    review_comments: int = 0

    @property
    def merged(self) -> bool:
        return self.merged_at is not None


@dataclass(slots=True, eq=False)
class Tag:
    name: str
    sha: str  # the commit the tag points at (may be dangling: exists nowhere)
    created_at: datetime
    object_sha: str  # what refs/tags/<name> points at: the commit, or an annotated tag object
    object_type: str = "commit"  # "commit" or "tag"


@dataclass(slots=True, eq=False)
class GitTagObject:
    sha: str
    tag: str
    message: str
    object_sha: str
    object_type: str
    tagger_name: str
    tagger_email: str
    tagged_at: datetime


@dataclass(slots=True, eq=False)
class DeploymentStatus:
    id: int
    state: str
    creator: User | None
    description: str
    environment: str
    created_at: datetime
    target_url: str = ""
    log_url: str = ""
    environment_url: str = ""


@dataclass(slots=True, eq=False)
class Deployment:
    id: int
    sha: str
    ref: str
    task: str
    environment: str
    description: str
    creator: User | None
    created_at: datetime
    updated_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    original_environment: str = ""
    transient_environment: bool = False
    production_environment: bool = False
    statuses: list[DeploymentStatus] = field(default_factory=list)
    managed: bool = False  # statuses are driven by the simulator (CI/CD), not by an API client

    @property
    def latest_state(self) -> str | None:
        return self.statuses[-1].state if self.statuses else None


@dataclass(slots=True, eq=False)
class Environment:
    id: int
    name: str
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True, eq=False)
class Workflow:
    id: int
    name: str
    path: str  # ".github/workflows/ci.yml"
    created_at: datetime
    updated_at: datetime
    state: str = "active"
    run_count: int = 0

    @property
    def file_name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(slots=True, eq=False)
class WorkflowRun:
    id: int
    workflow: Workflow
    run_number: int
    event: str
    head_branch: str | None
    head_sha: str
    actor: User | None
    display_title: str
    created_at: datetime
    updated_at: datetime
    status: str = "queued"  # queued / waiting / in_progress / completed
    conclusion: str | None = None  # success / failure / cancelled
    run_started_at: datetime | None = None
    pull_request_numbers: list[int] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)
    run_attempt: int = 1


@dataclass(slots=True, eq=False)
class Release:
    id: int
    tag_name: str
    name: str
    body: str
    author: User | None
    target_commitish: str
    created_at: datetime
    published_at: datetime


@dataclass(slots=True, eq=False)
class Hook:
    id: int
    name: str
    events: list[str]
    active: bool
    config: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    repo: Repository | None = None  # None for an organization hook


@dataclass(slots=True, eq=False)
class Organization:
    id: int
    login: str
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    hooks: dict[int, Hook] = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class Repository:
    id: int
    name: str
    description: str
    language: str
    created_at: datetime
    updated_at: datetime
    pushed_at: datetime
    owner: str = "acme"
    archived: bool = False
    gone: bool = False  # listed by /orgs/{org}/repos but every /repos/... URL answers 404
    default_branch: str = "main"
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, Branch] = field(default_factory=dict)
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    tags: dict[str, Tag] = field(default_factory=dict)  # creation order
    tag_objects: dict[str, GitTagObject] = field(default_factory=dict)
    deployments: dict[int, Deployment] = field(default_factory=dict)  # id order
    environments: dict[str, Environment] = field(default_factory=dict)
    workflows: dict[int, Workflow] = field(default_factory=dict)
    runs: dict[int, WorkflowRun] = field(default_factory=dict)  # id order
    releases: list[Release] = field(default_factory=list)
    hooks: dict[int, Hook] = field(default_factory=dict)
    live_deployments: dict[str, list[Deployment]] = field(default_factory=dict)  # env -> last status success
    next_number: int = 1
    version: int = 0  # bumped on every mutation; keys the query caches
    cache: dict[Any, Any] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def main_sha(self) -> str:
        return self.branches[self.default_branch].sha

    def workflow_by_file(self, file_name: str) -> Workflow | None:
        for workflow in self.workflows.values():
            if workflow.file_name == file_name:
                return workflow
        return None
