"""The GitHub simulator's world written into Trunkline's mirror in bulk: the rows a full sync of it stores, plus what
only its webhooks would tell (branches, when a tag was created, who merged a pull request, its size, when a draft
became ready), without a server or the API between them, so a large organization is in an empty database in
seconds. The main line is numbered by the sync's own `assign_main_positions`; tests/tools/test_world_mirror.py
holds the rest to what the sync itself stores from the same world.

Workflow runs are left out: no page or derivation reads them."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import overload

from django.conf import settings
from django.db import connection, models, transaction
from psycopg.types.json import Jsonb

from delivery.accounts.models import Developer
from delivery.github import models as mirror
from delivery.github.main_line import assign_main_positions
from delivery.pipeline.services import repository_derive
from delivery.simulator import models as sim
from delivery.simulator.generate import generate_world
from delivery.simulator.render import Renderer, node
from delivery.simulator.world import World

GITHUB = "https://github.com"
BATCH = 2000


def organization_derived(*, repos: int, prs: int, deployments: int, weeks: int, seed: int) -> float:
    """The simulator's organization (the demo's generator scaled up) written into an empty database and derived, as
    the periodic task would, with fresh planner statistics (as autovacuum would have after a bulk load). Returns the
    seconds it took."""
    started = time.monotonic()
    world = generate_world(
        seed=seed,
        repos=repos,
        developers=max(6, 3 * repos),
        weeks=weeks,
        prs=prs,
        deployments=deployments,
        quirks=False,
    )
    mirror_from_world(world)
    del world
    for pk in mirror.Repository.objects.order_by("pk").values_list("pk", flat=True):
        repository_derive(repository_id=pk)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return time.monotonic() - started


def mirror_from_world(world: World, *, base_url: str = GITHUB) -> None:
    """Write every repository the world lists, with the history of those it serves (not a deleted one's), into a
    database whose mirror is empty. Links point at `base_url` (GitHub's own address by default)."""
    renderer = Renderer(world, base_url)
    with transaction.atomic():
        people = _developers_write(world, renderer)
        _bulk(
            mirror.Repository,
            (
                mirror.Repository(
                    github_id=repo.id,
                    owner=world.org_login,
                    name=repo.name,
                    full_name=repo.full_name,
                    description=repo.description,
                    html_url=renderer.repo_html(repo),
                    default_branch=repo.default_branch,
                    private=True,  # as the simulator serves them
                    archived=repo.archived,
                    pushed_at=_at(repo.pushed_at),
                    created_at=_at(repo.created_at),
                )
                for repo in world.repos.values()
            ),
        )
        ids = dict(mirror.Repository.objects.values_list("github_id", "pk"))
    for repo in world.served_repos:
        with transaction.atomic():
            _RepositoryRows(world, repo, ids[repo.id], people, renderer).write()


def _developers_write(world: World, renderer: Renderer) -> dict[int, int]:
    """A Developer for every account the written rows name (a deleted one is nobody); their keys by GitHub id."""
    named: dict[int, sim.User] = {}
    for repo in world.served_repos:
        for pr in repo.pulls.values():
            for user in (pr.user, pr.merged_by, *pr.requested_reviewers, *(r.user for r in pr.reviews)):
                if user is not None:
                    named[user.id] = user
        for commit in repo.commits.values():
            if commit.author is not None:
                named[commit.author.id] = commit.author
        for deployment in repo.deployments.values():
            for user in (deployment.creator, *(s.creator for s in deployment.statuses)):
                if user is not None:
                    named[user.id] = user
    developers = []
    for user in named.values():
        shown = renderer.user(user)
        if shown is not None:
            developers.append(
                Developer(
                    github_id=user.id,
                    login=user.login,
                    avatar_url=shown["avatar_url"],
                    html_url=shown["html_url"],
                    is_bot=user.type == "Bot",
                )
            )
    _bulk(Developer, developers)
    return dict(Developer.objects.values_list("github_id", "pk"))


@dataclass
class _RepositoryRows:
    """One repository's rows, built from its simulated objects and written in foreign-key order."""

    world: World
    repo: sim.Repository
    repository_id: int
    people: dict[int, int]
    renderer: Renderer

    def person(self, user: sim.User | None) -> int | None:
        return None if user is None or user.deleted else self.people[user.id]

    def write(self) -> None:
        pulls = list(self.repo.pulls.values())
        _bulk(mirror.PullRequest, map(self.pull_request, pulls))
        _bulk(mirror.Deployment, map(self.deployment, self.repo.deployments.values()))
        _bulk(mirror.Commit, map(self.commit, self.world.reachable(self.repo, self.repo.main_sha)))
        _bulk(mirror.Tag, map(self.tag, self.repo.tags.values()))
        _bulk(mirror.Branch, self.branches(pulls))
        assign_main_positions(mirror.Repository(pk=self.repository_id), self.repo.main_sha)
        pull_ids = dict(
            mirror.PullRequest.objects.filter(repository_id=self.repository_id).values_list("github_id", "pk")
        )
        _bulk(mirror.Review, (self.review(pull_ids[pr.id], pr, r) for pr in pulls for r in pr.reviews))
        _bulk(
            mirror.PullRequestCommit,
            (
                self.pull_request_commit(pull_ids[pr.id], self.repo.commits[sha])
                for pr in pulls
                for sha in pr.commit_shas[:250]  # what GitHub lists of a pull request's commits
            ),
        )
        _bulk(
            mirror.ReviewRequest,
            (
                mirror.ReviewRequest(pull_request_id=pull_ids[pr.id], reviewer_id=reviewer)
                for pr in pulls
                if pr.state == "open"  # as the sync keeps them: a closed pull request asks nobody
                for reviewer in {self.people[u.id] for u in pr.requested_reviewers if not u.deleted}
            ),
        )
        deployment_ids = dict(
            mirror.Deployment.objects.filter(repository_id=self.repository_id).values_list("github_id", "pk")
        )
        _bulk(
            mirror.DeploymentStatus,
            (self.status(deployment_ids[d.id], s) for d in self.repo.deployments.values() for s in d.statuses),
        )

    # -- pull requests ---------------------------------------------------------------------------------------
    def pull_request(self, pr: sim.PullRequest) -> mirror.PullRequest:
        return mirror.PullRequest(
            github_id=pr.id,
            repository_id=self.repository_id,
            number=pr.number,
            title=pr.title[:500],
            author_id=self.person(pr.user),
            state=pr.state,
            draft=pr.draft,
            html_url=f"{self.renderer.repo_html(self.repo)}/pull/{pr.number}",
            head_ref=pr.head_ref,
            head_sha=pr.head_sha,
            base_ref=pr.base_ref,
            created_at=_at(pr.created_at),
            updated_at=_at(pr.updated_at),
            ready_at=_at(pr.ready_at),
            closed_at=_at(pr.closed_at),
            merged_at=_at(pr.merged_at),
            merge_commit_sha=pr.merge_commit_sha or "",
            merged_by_id=self.person(pr.merged_by),
            additions=pr.additions,
            deletions=pr.deletions,
            changed_files=pr.changed_files,
            details_synced_for=_at(pr.updated_at),
        )

    def review(self, pull_request_id: int, pr: sim.PullRequest, review: sim.Review) -> mirror.Review:
        return mirror.Review(
            github_id=review.id,
            pull_request_id=pull_request_id,
            author_id=self.person(review.user),
            state=review.state,
            commit_sha=review.commit_id,
            submitted_at=_at(review.submitted_at),
            html_url=f"{self.renderer.repo_html(self.repo)}/pull/{pr.number}#pullrequestreview-{review.id}",
        )

    def pull_request_commit(self, pull_request_id: int, commit: sim.Commit) -> mirror.PullRequestCommit:
        return mirror.PullRequestCommit(
            pull_request_id=pull_request_id,
            sha=commit.sha,
            message=commit.message,
            author_id=self.person(commit.author),
            authored_at=_at(commit.authored_at),
            committed_at=_at(commit.committed_at),
        )

    # -- git ---------------------------------------------------------------------------------------------------
    def commit(self, commit: sim.Commit) -> mirror.Commit:
        return mirror.Commit(
            repository_id=self.repository_id,
            sha=commit.sha,
            message=commit.message,
            author_id=self.person(commit.author),
            author_name=commit.author_name[:200],
            author_email=commit.author_email[:254],
            authored_at=_at(commit.authored_at),
            committed_at=_at(commit.committed_at),
            parent_shas=list(commit.parents),
            first_parent_sha=commit.parents[0] if commit.parents else "",
            html_url=f"{self.renderer.repo_html(self.repo)}/commit/{commit.sha}",
        )

    def tag(self, tag: sim.Tag) -> mirror.Tag:
        return mirror.Tag(
            repository_id=self.repository_id,
            name=tag.name,
            sha=tag.sha,
            created_at=_at(tag.created_at),
            last_pushed_at=_at(tag.created_at),
        )

    def branches(self, pulls: list[sim.PullRequest]) -> Iterator[mirror.Branch]:
        """The branches the repository has, and those of its pull requests that were deleted (at the merge or
        the close, as the simulator deletes them), each first seen at its first commit."""
        for pr in pulls:
            branch = self.repo.branches.get(pr.head_ref)
            if branch is None and pr.closed_at is not None and pr.commit_shas:
                first = self.repo.commits[pr.commit_shas[0]]
                yield mirror.Branch(
                    repository_id=self.repository_id,
                    name=pr.head_ref,
                    head_sha=pr.head_sha,
                    first_seen_at=_at(first.authored_at),
                    head_updated_at=_at(self.repo.commits[pr.head_sha].committed_at),
                    deleted_at=_at(pr.closed_at),
                )
        for name, branch in self.repo.branches.items():
            if name != self.repo.default_branch:
                head = self.repo.commits.get(branch.sha)
                yield mirror.Branch(
                    repository_id=self.repository_id,
                    name=name,
                    head_sha=branch.sha,
                    first_seen_at=_at(branch.created_at),
                    head_updated_at=_at(head.committed_at if head else branch.created_at),
                )

    # -- delivery ----------------------------------------------------------------------------------------------
    def deployment(self, deployment: sim.Deployment) -> mirror.Deployment:
        """As the sync stores it: its latest status's state, time and log, the last environment URL it had."""
        latest = max(deployment.statuses, key=lambda s: (s.created_at, s.id), default=None)
        urls = [s for s in deployment.statuses if s.environment_url]
        return mirror.Deployment(
            github_id=deployment.id,
            repository_id=self.repository_id,
            environment=deployment.environment,
            original_environment=deployment.original_environment,
            sha=deployment.sha,
            # As the GraphQL sync stores it: a ref that no longer exists (a merged branch GitHub deleted) is blank.
            ref=deployment.ref if deployment.ref in self.repo.branches or deployment.ref in self.repo.tags else "",
            task=deployment.task,
            description=deployment.description,
            payload=deployment.payload,
            creator_id=self.person(deployment.creator),
            transient_environment=deployment.transient_environment,
            production_environment=deployment.production_environment,
            created_at=_at(deployment.created_at),
            updated_at=_at(deployment.updated_at),
            state=latest.state if latest else "",
            state_at=_at(latest.created_at if latest else None),
            environment_url=max(urls, key=lambda s: (s.created_at, s.id)).environment_url if urls else "",
            log_url=self.renderer.absolute(latest.log_url) if latest else "",
            is_rollback=bool(deployment.payload.get("rollback"))
            or deployment.description.lower().startswith("rollback"),
        )

    def status(self, deployment_id: int, status: sim.DeploymentStatus) -> mirror.DeploymentStatus:
        return mirror.DeploymentStatus(
            github_id=None if settings.GITHUB_SYNC_GRAPHQL else status.id,  # GraphQL gives a status no database id
            node_id=node("DES", status.id),  # as the simulator renders it
            deployment_id=deployment_id,
            state=status.state,
            description=status.description,
            environment_url=status.environment_url,
            log_url=self.renderer.absolute(status.log_url or status.target_url),
            target_url=self.renderer.absolute(status.target_url),
            creator_id=self.person(status.creator),
            created_at=_at(status.created_at),
        )


@overload
def _at(moment: datetime) -> datetime: ...
@overload
def _at(moment: datetime | None) -> datetime | None: ...
def _at(moment: datetime | None) -> datetime | None:
    """GitHub's times are whole seconds (the simulator's renderers drop the rest too)."""
    return moment.replace(microsecond=0) if moment else None


def _bulk(model: type[models.Model], rows: Iterable[models.Model]) -> None:
    """Insert `rows`: on PostgreSQL with COPY (a third of INSERT's time for a bulk load: no statement to build,
    nothing quoted in Python), elsewhere with bulk_create. The rows' own keys are left to the database."""
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(list(rows), batch_size=BATCH)
        return
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    documents = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            values = [f.pre_save(row, True) for f in fields]  # defaults and auto_now(_add) filled in, as on save
            for i in documents:
                values[i] = Jsonb(values[i])
            copy.write_row(values)
