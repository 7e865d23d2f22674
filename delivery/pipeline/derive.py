"""The derivation: changes and releases from the GitHub mirror, recomputed per repository and stored, so pages
and metrics read results instead of recomputing them.

"Containing" uses positions on the default branch's first-parent line: a deployment (or tag) of sha X contains
every commit at or before X's position. So the first staging success containing a change is the earliest success
among the deployments at or after the change's position: a suffix minimum over deployments sorted by position,
one pass per repository, no per-change queries and no API calls.

A repository's derivation reads a fixed number of queries whatever its size and holds one row per pull request
and deployment of that repository in memory (ids, times, positions), not objects."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, Min, OuterRef, Q
from django.utils import timezone

from delivery.github.ingest import Row, upsert_rows
from delivery.github.models import (
    Branch,
    Commit,
    Deployment,
    DeploymentStatus,
    PullRequest,
    PullRequestCommit,
    Repository,
    Review,
    ReviewRequest,
    Tag,
)
from delivery.pipeline.checks import ChangeFacts, change_checks, names_task
from delivery.pipeline.derive_releases import releases_append, releases_derive
from delivery.pipeline.derive_scope import Scope, derive_mark_save, derive_scope, mirror_mark
from delivery.pipeline.models import Change, Release, ReleaseChange, Stage, watch_history_age


@dataclass
class DeriveSummary:
    full: bool = True
    changes: int = 0
    changes_written: int = 0
    releases: int = 0
    releases_written: int = 0
    # The pull requests whose changes were derived (None: all of them, a full derivation): what the flows read again
    # for task references (delivery.flows.task_links).
    pull_request_ids: list[int] | None = None


class _Earliest:
    """Events at positions on the first-parent line; `at_or_after(p)` is the earliest time of any event at a
    position >= p (the first event that contains a commit at position p)."""

    def __init__(self, events: Iterable[tuple[int, datetime]]) -> None:
        ordered = sorted(events)
        self.positions = [p for p, _ in ordered]
        self.suffix_min: list[datetime] = []
        best: datetime | None = None
        for _, at in reversed(ordered):
            best = at if best is None or at < best else best
            self.suffix_min.append(best)
        self.suffix_min.reverse()

    def at_or_after(self, position: int | None) -> datetime | None:
        if position is None:
            return None
        i = bisect.bisect_left(self.positions, position)
        return self.suffix_min[i] if i < len(self.suffix_min) else None


def repository_pipeline_derive(*, repository_id: int, now: datetime | None = None, full: bool = False) -> DeriveSummary:
    """Derive the changes and releases of one repository from its mirror: what changed since its last derivation
    (pipeline.derive_scope), or everything (`full`, a first derivation, changed settings, a backfill)."""
    now = now or timezone.now()
    repository = Repository.objects.get(pk=repository_id)
    mark = mirror_mark(repository, now)  # before reading: what is written meanwhile is read next time
    scope = None if full else derive_scope(repository, now)
    summary = DeriveSummary(full=scope is None)
    with transaction.atomic():
        if scope is not None and not _derive_scope(repository, scope, now, summary):
            summary.full = True
        if summary.full:
            summary.pull_request_ids = None
            _derive_all(repository, now, summary)
        _unwatched_releases(repository, now)
        derive_mark_save(repository, mark, now)
    return summary


def _derive_all(repository: Repository, now: datetime, summary: DeriveSummary) -> None:
    positions = _Positions(repository)
    production_successes = _successes(repository, repository.production_environment)
    tags = _release_tags(repository)
    staging = _Earliest(_placed(_successes(repository, repository.staging_environment), positions))
    production = _Earliest(_placed(production_successes, positions))
    tagged = _Earliest(_tag_times(repository, tags, positions))
    pull_requests = _pull_requests(repository, None)
    summary.changes, summary.changes_written = _changes(
        repository, pull_requests, positions, _Reached(staging, tagged, production), now
    )
    summary.releases, summary.releases_written = releases_derive(repository, positions, production_successes, tags)


def _derive_scope(repository: Repository, scope: Scope, now: datetime, summary: DeriveSummary) -> bool:
    """The changes of the pull requests in scope, reading only the deployments and tags at or after the lowest
    position among them (what can contain them); the releases that succeeded since. False: derive everything."""
    pull_requests = _pull_requests(repository, scope.pull_request_ids)
    summary.pull_request_ids = sorted(scope.pull_request_ids)
    merge_shas = {pr["merge_commit_sha"] for pr in pull_requests if pr["merged_at"] and pr["merge_commit_sha"]}
    positions = _Positions(repository, shas=merge_shas)
    lowest = min((p for sha in merge_shas if (p := positions.of(sha)) is not None), default=None)
    reach = Commit.objects.filter(repository=repository, main_position__gte=lowest if lowest is not None else 1 << 31)
    positions.read(reach)
    shas = reach.values("sha")
    staging = _Earliest(_placed(_successes(repository, repository.staging_environment, shas), positions))
    production = _Earliest(_placed(_successes(repository, repository.production_environment, shas), positions))
    tagged = _Earliest(_tag_times(repository, _release_tags(repository, shas), positions))
    summary.changes, summary.changes_written = _changes(
        repository, pull_requests, positions, _Reached(staging, tagged, production, shas), now, scope.pull_request_ids
    )
    change_ids = set(Change.objects.filter(pull_request_id__in=scope.pull_request_ids).values_list("pk", flat=True))
    appended = releases_append(
        repository, deployment_ids=scope.deployment_ids, tag_shas=scope.tag_shas, change_ids=change_ids
    )
    if appended is None:
        return False
    summary.releases, summary.releases_written = appended
    return True


@dataclass
class _Reached:
    """When the deployments and tags first reached each position; `shas`: the commits they were read for (None:
    all)."""

    staging: _Earliest
    tagged: _Earliest
    production: _Earliest
    shas: Any = None


def _unwatched_releases(repository: Repository, now: datetime) -> None:
    """The releases that get no watch say so: rollbacks, those that brought no person's change, and history (too
    old for a watch when first derived: a first sync)."""
    person = Release.owners.through.objects.filter(release_id=OuterRef("pk"), developer__is_bot=False)
    Release.objects.filter(repository=repository, watch_state=Release.Watch.PENDING).filter(
        Q(is_rollback=True) | Q(deployed_at__lt=now - watch_history_age(repository)) | ~Exists(person)
    ).update(watch_state=Release.Watch.NONE)


# -- positions --------------------------------------------------------------------------------------------------
class _Positions:
    """sha -> (commit id, position on the first-parent line), read once per repository (or for these shas)."""

    def __init__(self, repository: Repository, *, shas: set[str] | None = None) -> None:
        self.by_sha: dict[str, tuple[int, int | None]] = {}
        commits = Commit.objects.filter(repository=repository)
        self.read(commits if shas is None else commits.filter(sha__in=shas))

    def read(self, commits: Any) -> None:
        self.by_sha.update(
            (sha, (pk, position)) for pk, sha, position in commits.values_list("pk", "sha", "main_position")
        )

    def of(self, sha: str) -> int | None:
        entry = self.by_sha.get(sha)
        return entry[1] if entry else None

    def commit_id(self, sha: str) -> int | None:
        entry = self.by_sha.get(sha)
        return entry[0] if entry else None


def _successes(repository: Repository, environment: str, shas: Any = None) -> list[dict[str, Any]]:
    """Each successful deployment of `environment` (id, sha, rollback flag, first success time), in the order they
    succeeded (of these shas only, if given)."""
    statuses = DeploymentStatus.objects.filter(
        deployment__repository=repository, deployment__environment=environment, state="success"
    )
    return list(
        (statuses if shas is None else statuses.filter(deployment__sha__in=shas))
        .values("deployment_id", "deployment__sha", "deployment__is_rollback")
        .annotate(at=Min("created_at"))
        .order_by("at", "deployment_id")
    )


def _placed(successes: list[dict[str, Any]], positions: _Positions) -> Iterable[tuple[int, datetime]]:
    """(position, success time) of the deployments whose sha is placed on the main line."""
    for success in successes:
        position = positions.of(success["deployment__sha"])
        if position is not None:
            yield position, success["at"]


def _release_tags(repository: Repository, shas: Any = None) -> list[dict[str, Any]]:
    """The repository's live release tags (matching its tag pattern) whose sha is known (one of these, if given)."""
    tags = Tag.objects.alive().filter(repository=repository).exclude(sha="")
    tags = tags if shas is None else tags.filter(sha__in=shas)
    return [
        dict(t)
        for t in tags.values("name", "sha", "created_at", "first_seen_at")
        if repository.is_release_tag(t["name"])
    ]


def _tag_times(
    repository: Repository, tags: list[dict[str, Any]], positions: _Positions
) -> Iterable[tuple[int, datetime]]:
    """(position, time) of each release tag: its creation (webhook), else the first deployment made of it, else
    when Trunkline first saw it (GitHub's tag list carries no time)."""
    first_deployed = dict(
        Deployment.objects.filter(repository=repository, ref__in=[t["name"] for t in tags])
        .values("ref")
        .annotate(at=Min("created_at"))
        .values_list("ref", "at")
    )
    for t in tags:
        position = positions.of(t["sha"])
        at = t["created_at"] or first_deployed.get(t["name"]) or t["first_seen_at"]
        if position is not None and at is not None:
            yield position, at


# -- changes ----------------------------------------------------------------------------------------------------
def _pull_requests(repository: Repository, pull_request_ids: set[int] | None) -> list[dict[str, Any]]:
    """The pull requests into the default branch (these only, if given)."""
    pull_requests = PullRequest.objects.filter(repository=repository, base_ref=repository.default_branch)
    if pull_request_ids is not None:
        pull_requests = pull_requests.filter(pk__in=pull_request_ids)
    return [
        dict(pr)
        for pr in pull_requests.values(
            "pk",
            "title",
            "author_id",
            "state",
            "draft",
            "created_at",
            "ready_at",
            "merged_at",
            "merge_commit_sha",
            "head_sha",
            "head_ref",
        )
    ]


def _changes(
    repository: Repository,
    pull_requests: list[dict[str, Any]],
    positions: _Positions,
    reached: _Reached,
    now: datetime,
    scoped: set[int] | None = None,
) -> tuple[int, int]:
    """The changes of these pull requests (`scoped`: of only these, else of every pull request)."""
    of_repository = Q(pull_request__repository=repository) if scoped is None else Q(pull_request_id__in=scoped)
    first_commit = dict(
        PullRequestCommit.objects.filter(of_repository)
        .values("pull_request_id")
        .annotate(at=Min("authored_at"))
        .values_list("pull_request_id", "at")
    )
    authors = {pr["pk"]: pr["author_id"] for pr in pull_requests}
    first_review: dict[int, datetime] = {}
    first_approval: dict[int, datetime] = {}
    reviews = (
        Review.objects.filter(of_repository, submitted_at__isnull=False)
        .exclude(state=Review.State.PENDING)
        .values_list("pull_request_id", "author_id", "state", "submitted_at")
    )
    for pr_id, author_id, state, at in reviews:
        if at is None:
            continue  # the query leaves out reviews without a time
        if author_id is not None and author_id == authors.get(pr_id):
            continue  # the author's own comments are not a review
        if pr_id not in first_review or at < first_review[pr_id]:
            first_review[pr_id] = at
        if state == Review.State.APPROVED and (pr_id not in first_approval or at < first_approval[pr_id]):
            first_approval[pr_id] = at
    # Who is asked to review each open PR: the first of them owns "review it" (lowest id: stable between runs).
    reviewer: dict[int, int] = {}
    for pr_id, reviewer_id in ReviewRequest.objects.filter(
        of_repository, pull_request__state=PullRequest.State.OPEN
    ).values_list("pull_request_id", "reviewer_id"):
        reviewer[pr_id] = min(reviewer_id, reviewer.get(pr_id, reviewer_id))
    facts = _CheckFacts(repository, pull_requests, positions, of_repository, reached.shas)
    window = timedelta(minutes=repository.monitoring_window_minutes)
    watches = _Watches(repository, now, scoped)
    rows = []
    for pr in pull_requests:
        position = positions.of(pr["merge_commit_sha"]) if pr["merged_at"] else None
        times = {
            "first_commit_at": first_commit.get(pr["pk"]) or pr["created_at"],
            "pr_opened_at": pr["created_at"],
            "ready_at": pr["ready_at"] or (None if pr["draft"] else pr["created_at"]),
            "first_review_at": first_review.get(pr["pk"]),
            "approved_at": first_approval.get(pr["pk"]),
            "merged_at": pr["merged_at"],
            "staging_at": reached.staging.at_or_after(position),
            "tagged_at": reached.tagged.at_or_after(position),
            "production_at": reached.production.at_or_after(position),
        }
        watched, times["signed_off_at"] = watches.of(pr["pk"], times["production_at"])
        rows.append(
            {
                "repository_id": repository.pk,
                "pull_request_id": pr["pk"],
                "commit_id": positions.commit_id(pr["merge_commit_sha"]) if pr["merged_at"] else None,
                "title": pr["title"][:500],
                "author_id": pr["author_id"],
                "stage": (stage := _stage(pr, times, watched)),
                "failed_checks": change_checks(facts.of(pr, times, position), repository, now),
                "preview_url": facts.preview_urls.get(pr["head_ref"]) or facts.preview_urls.get(pr["head_sha"], ""),
                **_next_step(stage, pr, times, window, reviewer.get(pr["pk"]), now),
                **times,
            }
        )
    result = upsert_rows(Change, rows, key=["pull_request_id"])
    return len(rows), result.created + result.updated


class _Watches:
    """Whether each change's post-deploy watch is done: the watch of the newest release that brought it (kept on the
    release by the monitoring app). A change whose release has no watch yet is being watched while it is young
    enough to get one; older, it is history (a first sync) and done."""

    def __init__(self, repository: Repository, now: datetime, scoped: set[int] | None) -> None:
        self.history_before = now - watch_history_age(repository)
        self.by_pr: dict[int, tuple[str, datetime | None, datetime | None]] = {}
        links = ReleaseChange.objects.filter(release__repository=repository, change__pull_request__isnull=False)
        for pr_id, state, ended_at, deployed_at in (
            (links if scoped is None else links.filter(change__pull_request_id__in=scoped))
            .order_by("release__deployed_at", "release_id")
            .values_list(
                "change__pull_request_id", "release__watch_state", "release__watch_ended_at", "release__deployed_at"
            )
        ):
            self.by_pr[pr_id] = (state, ended_at, deployed_at)  # the newest release wins

    def of(self, pr_id: int, production_at: datetime | None) -> tuple[bool, datetime | None]:
        """(watched, when the watch ended) for a change in production since `production_at`."""
        if production_at is None:
            return False, None
        state, ended_at, deployed_at = self.by_pr.get(pr_id, (Release.Watch.PENDING, None, None))
        if state == Release.Watch.DONE:
            return True, ended_at
        if state == Release.Watch.NONE:
            return True, None
        # No watch yet: history if the release that brought it last (or its first production) is too old for one.
        went_live = deployed_at or production_at
        return state == Release.Watch.PENDING and went_live < self.history_before, None


def _stage(pr: dict[str, Any], times: dict[str, datetime | None], watched: bool) -> str:
    if pr["merged_at"] is None:
        if pr["state"] == PullRequest.State.CLOSED:
            return Stage.CLOSED
        return Stage.IN_REVIEW if times["ready_at"] else Stage.IN_PROGRESS
    if times["production_at"]:
        # Done once its watch is signed off (or ended by a rollback); until then it is in the watch column.
        return Stage.DONE if watched else Stage.IN_PRODUCTION
    if times["tagged_at"]:
        return Stage.TAGGED
    if times["staging_at"]:
        return Stage.ON_STAGING
    return Stage.MERGED


class _CheckFacts:
    """What the checks need beyond the stage times, read in bulk for the whole repository."""

    def __init__(
        self,
        repository: Repository,
        pull_requests: list[dict[str, Any]],
        positions: _Positions,
        of_repository: Q,
        shas: Any,
    ) -> None:
        self.positions = positions
        # Each reviewer's latest review that counts (a later comment does not withdraw an approval).
        latest: dict[tuple[int, int], tuple[datetime, str, str]] = {}
        reviews = (
            Review.objects.filter(of_repository, submitted_at__isnull=False, author__isnull=False)
            .exclude(state__in=[Review.State.PENDING, Review.State.COMMENTED])
            .values_list("pull_request_id", "author_id", "submitted_at", "state", "commit_sha")
        )
        for pr_id, author_id, at, state, sha in reviews:
            if at is None or author_id is None:
                continue  # the query leaves these out
            key = (pr_id, author_id)
            if key not in latest or at > latest[key][0]:
                latest[key] = (at, state, sha)
        heads = {pr["pk"]: (pr["head_sha"], pr["author_id"]) for pr in pull_requests}
        self.approvals: dict[int, int] = defaultdict(int)
        for (pr_id, author_id), (_, state, sha) in latest.items():
            head_sha, pr_author = heads.get(pr_id, ("", None))
            if state == Review.State.APPROVED and sha == head_sha and author_id != pr_author:
                self.approvals[pr_id] += 1
        merge_shas = [pr["merge_commit_sha"] for pr in pull_requests if pr["merged_at"] and pr["merge_commit_sha"]]
        self.parents = {
            sha: len(parents or [])
            for sha, parents in Commit.objects.filter(repository=repository, sha__in=merge_shas).values_list(
                "sha", "parent_shas"
            )
        }
        branches = Branch.objects.filter(repository=repository).only("name", "deleted_at", "head_updated_at")
        if shas is not None:  # scoped: these pull requests' branches and previews only
            branches = branches.filter(name__in={pr["head_ref"] for pr in pull_requests})
        self.branches = {b.name: b.is_deleted for b in branches}
        self.preview_refs: set[str] = set()
        self.preview_shas: set[str] = set()
        self.preview_urls: dict[str, str] = {}
        statuses = DeploymentStatus.objects.filter(deployment__repository=repository, state="success")
        if shas is not None:
            statuses = statuses.filter(
                Q(deployment__ref__in={pr["head_ref"] for pr in pull_requests if pr["head_ref"]})
                | Q(deployment__sha__in={pr["head_sha"] for pr in pull_requests if pr["head_sha"]})
            )
        previews = (
            statuses.exclude(
                deployment__environment__in=[repository.staging_environment, repository.production_environment]
            )
            .order_by("created_at")
            .values_list("deployment__environment", "deployment__ref", "deployment__sha", "environment_url")
        )
        for environment, ref, sha, url in previews:
            if repository.environment_kind(environment) == "preview":
                self.preview_refs.add(ref)
                self.preview_shas.add(sha)
                if url:  # the latest one wins (ordered by time)
                    self.preview_urls[ref] = self.preview_urls[sha] = url
        failures = Deployment.objects.filter(
            repository=repository, environment=repository.production_environment, state__in=["failure", "error"]
        )
        self.failed_production = _Earliest(
            (position, at)
            for sha, at in (failures if shas is None else failures.filter(sha__in=shas)).values_list("sha", "state_at")
            if (position := positions.of(sha)) is not None and at is not None
        )

    def of(self, pr: dict[str, Any], times: dict[str, datetime | None], position: int | None) -> ChangeFacts:
        merged = pr["merged_at"] is not None
        failed_at = self.failed_production.at_or_after(position) if merged else None
        return ChangeFacts(
            open=pr["state"] == PullRequest.State.OPEN,
            draft=pr["draft"],
            opened_at=pr["created_at"],
            merged_at=pr["merged_at"],
            first_commit_at=times["first_commit_at"],
            staging_at=times["staging_at"],
            tagged_at=times["tagged_at"],
            production_at=times["production_at"],
            approvals_at_head=self.approvals.get(pr["pk"], 0),
            merge_commit_parents=self.parents.get(pr["merge_commit_sha"], 0) if merged else 0,
            branch_deleted=self.branches.get(pr["head_ref"]),
            preview_succeeded=pr["head_ref"] in self.preview_refs or pr["head_sha"] in self.preview_shas,
            production_failed=failed_at is not None and times["production_at"] is None,
            names_task=names_task(pr["head_ref"], pr["title"]),
        )


def _next_step(
    stage: str,
    pr: dict[str, Any],
    times: dict[str, datetime | None],
    window: timedelta,
    reviewer: int | None,
    now: datetime,
) -> Row:
    """Who must act next, and what: in trunk-based delivery the author owns the change until it is watched."""
    author = pr["author_id"]
    if stage == Stage.IN_PROGRESS:
        return {"next_owner_id": author, "next_action": "Finish and mark ready for review"}
    if stage == Stage.IN_REVIEW:
        if times["first_review_at"] is None:
            if reviewer is None:  # nobody asked yet: the author's move
                return {"next_owner_id": author, "next_action": "Ask a teammate to review it"}
            return {"next_owner_id": reviewer, "next_action": "Review it"}
        return {"next_owner_id": author, "next_action": "Address the review, or approve"}
    if stage == Stage.MERGED:
        return {"next_owner_id": author, "next_action": "Get it deployed to staging"}
    if stage == Stage.ON_STAGING:
        return {"next_owner_id": author, "next_action": "Check staging; tag the release"}
    if stage == Stage.TAGGED:
        return {"next_owner_id": author, "next_action": "Deploy the tag to production"}
    if stage == Stage.IN_PRODUCTION:
        production_at = times["production_at"]
        if production_at is not None and production_at + window <= now:
            return {"next_owner_id": author, "next_action": "Sign off the watch: keep, fix forward or roll back"}
        minutes = int(window.total_seconds() // 60)
        return {"next_owner_id": author, "next_action": f"Watch production ({minutes}-minute window)"}
    return {"next_owner_id": None, "next_action": ""}
