"""The sync engine: reads GitHub through the client and writes through the ingest layer.

Each resource of a repository keeps a SyncCursor. A cursor's bookmark (ETag of the first page, high-water
time or id) moves only after that resource's pass completed, so an interrupted pass resumes from the old
bookmark; the ingest layer makes the repeated part a no-op. Lists are read page by page and written page by
page, so memory does not grow with a repository's history."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from delivery.github.client import (
    GitHubClient,
    GitHubError,
    GitHubNotFound,
    Page,
    client_from_settings,
)
from delivery.github.ingest import (
    PullRequestWithDetails,
    ingest_pull_request_commits,
    ingest_pull_requests_with_details,
    ingest_repositories,
    ingest_reviews,
    ingest_tags,
    parse_time,
)
from delivery.github.main_line import MainLineWalk, main_line_sync
from delivery.github.models import PullRequest, Repository, SyncCursor, SyncRun
from delivery.github.repository_gone import (
    NOT_FOUND,
    repositories_listing_seen,
    repositories_to_sync,
    repository_back,
    repository_gone_checked,
    repository_gone_mark,
)
from delivery.github.rows import IngestResult, Need, a_text, a_time, github_id, items_screened
from delivery.github.sync_deployments import deployments_pass, workflow_runs_pass
from delivery.github.sync_graphql import pull_request_details_read, pull_requests_pass
from delivery.github.sync_lease import (
    LeaseKeeper,
    SyncAlreadyRunning,
    SyncLeaseLost,
    repository_claim_sync,
    repository_release_sync,
    sync_runs_interrupted_close,
)

logger = logging.getLogger(__name__)

Progress = Callable[[str, str, int, int | None], None]
"""progress(repository, resource, pages done, pages in all or None)"""


@dataclass
class SyncSummary:
    repositories: int = 0
    requests: int = 0
    not_modified: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    malformed: int = 0  # objects GitHub sent malformed: skipped, each with its reason in `skipped`
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, result: IngestResult) -> None:
        self.created += result.created
        self.updated += result.updated
        self.unchanged += result.unchanged
        self.malformed += result.malformed
        self.skipped.extend(result.skipped)

    def merge(self, other: SyncSummary) -> None:
        for name in ("repositories", "requests", "not_modified", "created", "updated", "unchanged", "malformed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.skipped.extend(other.skipped)
        self.errors.extend(other.errors)


# The fields of each kind the sync reads itself, before the ingest layer sees the objects (to filter on a time,
# compare an id with a bookmark, follow a URL): an object where one is malformed is skipped, counted, with a reason.
PULL_REQUEST_NEEDS: dict[str, Need] = {"id": github_id, "number": github_id, "updated_at": a_time, "url": a_text}


def _cursor(repository: Repository | None, resource: str) -> SyncCursor:
    cursor, _ = SyncCursor.objects.get_or_create(repository=repository, resource=resource)
    return cursor


def _cursor_done(cursor: SyncCursor, now: datetime, **bookmark: Any) -> None:
    for name, value in bookmark.items():
        setattr(cursor, name, value)
    cursor.last_success_at = cursor.last_attempt_at = now
    cursor.last_error = ""
    cursor.save()


def _walk_each_conditional(
    client: GitHubClient,
    url: str,
    cursor: SyncCursor,
    write: Callable[[Page], None],
    params: dict[str, Any] | None = None,
    *,
    with_ids: bool = False,
) -> set[int] | None:
    """Read a list not sorted by change page by page, each page conditional on its own ETag; write the pages
    that changed; then save the pages' ETags (only now: an interrupted walk keeps the old ones). `with_ids`: also
    keep each page's ids and return those of the whole list (an unchanged page's as last read), or None when
    that is not known (a page read before ids were kept, an object without an id)."""
    etags: dict[str, Any] = {}
    ids: dict[str, list[int] | None] = {}
    known = cursor.page_etags.get("ids") or {}
    last_full = bool(cursor.page_etags.get("last_full"))
    for page in client.iter_pages_each_conditional(url, etags=cursor.page_etags, params=params):
        etags[str(page.number)] = page.etag
        if page.not_modified:
            ids[str(page.number)] = known.get(str(page.number))
        else:
            write(page)
            last_full = len(page.items) >= client.per_page
            page_ids = [item.get("id") for item in page.items]
            complete = all(isinstance(i, int) and not isinstance(i, bool) for i in page_ids)
            ids[str(page.number)] = cast(list[int], page_ids) if complete else None
    etags["last_full"] = last_full
    if with_ids:
        etags["ids"] = ids
    _cursor_done(cursor, timezone.now(), page_etags=etags)
    if not with_ids or any(page_ids is None for page_ids in ids.values()):
        return None
    return {i for page_ids in ids.values() for i in page_ids or ()}


# -- the organization's repositories --------------------------------------------------------------------------
def organization_repositories_sync(*, client: GitHubClient, org: str) -> tuple[SyncSummary, list[int]]:
    """Upsert the organization's repositories, mark those it no longer lists as gone; returns the ids of the
    followed ones to sync now (a gone one once a day)."""
    summary = SyncSummary()
    before = (client.counters.requests, client.counters.not_modified)
    cursor = _cursor(None, SyncCursor.Resource.REPOSITORIES)

    def write(page: Page) -> None:
        with transaction.atomic():
            summary.add(ingest_repositories(page.items))

    listed = _walk_each_conditional(
        client, f"/orgs/{org}/repos", cursor, write, params={"type": "all", "sort": "full_name"}, with_ids=True
    )
    if listed is not None:
        repositories_listing_seen(org=org, listed=listed)
    summary.requests = client.counters.requests - before[0]
    summary.not_modified = client.counters.not_modified - before[1]
    return summary, repositories_to_sync(org=org)


# -- one repository --------------------------------------------------------------------------------------------
def repository_sync(
    *,
    repository_id: int,
    client: GitHubClient | None = None,
    trigger: str = "manual",
    progress: Progress | None = None,
) -> SyncSummary:
    """Sync one repository: pull requests (with reviews and commits), commits on the default branch, tags,
    deployments (with statuses), workflow runs. Raises SyncAlreadyRunning if another sync holds the lease;
    GitHubRateLimited / GitHubUnavailable propagate (the caller waits or retries) after the run is recorded."""
    repository = Repository.objects.get(pk=repository_id)
    owner = uuid.uuid4().hex
    if not repository_claim_sync(repository_id, owner=owner):
        SyncRun.objects.create(
            repository=repository,
            trigger=trigger,
            status=SyncRun.Status.SKIPPED,
            finished_at=timezone.now(),
            error="another sync of this repository is running",
        )
        raise SyncAlreadyRunning(repository.full_name)
    try:
        client = client or client_from_settings()
        repository_gone_checked(repository_id=repository_id)
        sync_runs_interrupted_close(repository_id=repository_id)  # we hold the lease: the one before us died
        run = SyncRun.objects.create(repository=repository, trigger=trigger, heartbeat_at=timezone.now())
    except BaseException:
        repository_release_sync(repository_id, owner=owner)
        raise
    keeper = LeaseKeeper(repository_id=repository_id, owner=owner, run_id=run.pk)
    job = _RepositorySync(repository, client, progress or (lambda *_: None), keeper)
    started = time.monotonic()
    client.before_request = keeper
    try:
        job.run()
    except SyncLeaseLost as exc:
        _finish(run, job, started, SyncRun.Status.INTERRUPTED, f"interrupted: {exc} (it overran its lease)")
        raise
    except GitHubNotFound as exc:
        reason = f"{repository.full_name}: not found on GitHub (deleted, renamed or not visible): {exc}"
        if not repository_gone_mark(repository_id=repository.pk, reason=NOT_FOUND):
            logger.info("%s: still gone from GitHub (checked again tomorrow)", repository.full_name)
        job.summary.skipped.append(reason)
        _finish(run, job, started, SyncRun.Status.SKIPPED, reason)
    except GitHubError as exc:
        status = SyncRun.Status.FAILED if exc.permanent else SyncRun.Status.WAITING
        _finish(run, job, started, status, str(exc))
        raise
    except Exception as exc:
        _finish(run, job, started, SyncRun.Status.FAILED, f"{exc.__class__.__name__}: {exc}")
        raise
    else:
        repository_back(repository_id=repository.pk)
        Repository.objects.filter(pk=repository.pk, gone_since__isnull=True).update(unavailable_reason="")
        Repository.objects.filter(pk=repository.pk).update(last_synced_at=timezone.now())
        errors = job.summary.errors
        _finish(run, job, started, SyncRun.Status.FAILED if errors else SyncRun.Status.SUCCEEDED, "; ".join(errors))
    finally:
        client.before_request = None
        repository_release_sync(repository_id, owner=owner)
    return job.summary


def _finish(run: SyncRun, job: _RepositorySync, started: float, status: str, error: str) -> None:
    """Record the run's outcome, unless it was already closed as interrupted (it overran its lease)."""
    job.close_counters()
    summary = job.summary
    summary.seconds = time.monotonic() - started
    SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING).update(
        status=status,
        error=error,
        finished_at=timezone.now(),
        requests=summary.requests,
        not_modified=summary.not_modified,
        created=summary.created,
        updated=summary.updated,
        skipped=summary.skipped[:200],
        malformed=summary.malformed,
    )


class _RepositorySync:
    """One pass over one repository's resources, in an order where parents come before children."""

    def __init__(self, repository: Repository, client: GitHubClient, progress: Progress, keeper: LeaseKeeper) -> None:
        self.repository = repository
        self.keep_alive = keeper
        self.client = client
        self.progress = progress
        self.summary = SyncSummary(repositories=1)
        self.now = timezone.now()
        self.floor = self.now - timedelta(days=settings.SYNC_BACKFILL_DAYS)
        # Known deployments and runs this recent are re-read when they may have moved; older ones are left to
        # webhooks (they change rarely: a preview torn down when its PR closes).
        self.recent = self.now - timedelta(days=settings.SYNC_RECHECK_DAYS)
        self.api = f"/repos/{repository.full_name}"
        self._counters_at_start = (client.counters.requests, client.counters.not_modified)

    def close_counters(self) -> None:
        self.summary.requests = self.client.counters.requests - self._counters_at_start[0]
        self.summary.not_modified = self.client.counters.not_modified - self._counters_at_start[1]

    FIRST_RESOURCE = SyncCursor.Resource.PULL_REQUESTS

    def run(self) -> None:
        graphql = settings.GITHUB_SYNC_GRAPHQL  # pull requests and deployments a page per query (sync_graphql)
        steps: tuple[tuple[str, Callable[[SyncCursor], None]], ...] = (
            (SyncCursor.Resource.PULL_REQUESTS, self.pull_requests_graphql if graphql else self.pull_requests),
            (SyncCursor.Resource.COMMITS, self.commits),
            (SyncCursor.Resource.TAGS, self.tags),
            (SyncCursor.Resource.DEPLOYMENTS, lambda cursor: deployments_pass(self, cursor)),
            (SyncCursor.Resource.WORKFLOW_RUNS, lambda cursor: workflow_runs_pass(self, cursor)),
        )
        for resource, step in steps:
            cursor = _cursor(self.repository, resource)
            try:
                step(cursor)
            except GitHubError as exc:
                SyncCursor.objects.filter(pk=cursor.pk).update(
                    last_attempt_at=timezone.now(), last_error=str(exc)[:2000]
                )
                # A 404 on the first list of the repository means the repository itself is gone; a transient
                # error stops the pass (to be resumed); any other refusal costs only this resource.
                if not exc.permanent or (isinstance(exc, GitHubNotFound) and resource == self.FIRST_RESOURCE):
                    raise
                reason = f"{self.repository.full_name} {resource}: {exc}"
                logger.warning(reason)
                self.summary.errors.append(reason)

    def _screened(self, items: list[dict[str, Any]], needs: dict[str, Need], kind: str) -> list[dict[str, Any]]:
        good, screened = items_screened(items, needs, f"{self.repository.full_name} {kind}")
        self.summary.add(screened)
        return good

    def cursor_done(self, cursor: SyncCursor, **bookmark: Any) -> None:
        _cursor_done(cursor, timezone.now(), **bookmark)

    def _page_done(self, resource: str, number: int, last: int | None) -> None:
        self.progress(self.repository.full_name, resource, number, last)
        self.keep_alive()  # also before every request: see sync_lease

    # -- pull requests ------------------------------------------------------------------------------------------
    def pull_requests_graphql(self, cursor: SyncCursor) -> None:
        pull_requests_pass(self, cursor)

    def pull_requests(self, cursor: SyncCursor) -> None:
        """Sorted by `updated` descending, stopping at the bookmark (the list has no `since`)."""
        since = cursor.high_water_at or self.floor
        high, first_etag = cursor.high_water_at, cursor.etag
        params = {"state": "all", "sort": "updated", "direction": "desc"}
        for page in self.client.iter_pages(f"{self.api}/pulls", params=params, etag=cursor.etag):
            if page.not_modified:
                break
            if page.number == 1:
                first_etag = page.etag
            items = self._screened(page.items, PULL_REQUEST_NEEDS, "pull request")
            fresh = [pr for pr in items if parse_time(pr["updated_at"]) >= since]
            synced_for = dict(
                PullRequest.objects.filter(
                    repository=self.repository, github_id__in=[pr["id"] for pr in fresh]
                ).values_list("github_id", "details_synced_for")
            )
            # The reviews and commits of those not stored for this version: two lists each, read before the page
            # is written in one transaction with them.
            with_details: list[PullRequestWithDetails] = [
                (pr, *self._pull_request_details(pr))
                if synced_for.get(pr["id"]) != parse_time(pr["updated_at"])
                else (pr, None, None)
                for pr in fresh
            ]
            with transaction.atomic():
                self.summary.add(ingest_pull_requests_with_details(self.repository, with_details))
            for item in fresh:
                high = max(filter(None, (high, parse_time(item["updated_at"]))))
            self._page_done("pull requests", page.number, page.last_page)
            if len(fresh) < len(items):
                break
        _cursor_done(cursor, timezone.now(), etag=first_etag, high_water_at=high)

    def _pull_request_details(self, item: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        reviews = [review for page in self.client.iter_pages(f"{item['url']}/reviews") for review in page.items]
        commits = [commit for page in self.client.iter_pages(f"{item['url']}/commits") for commit in page.items]
        return reviews, commits

    # -- commits on the default branch -------------------------------------------------------------------------
    def commits(self, cursor: SyncCursor) -> None:
        """Newest first from the branch head, down to the first commit already placed on the first-parent
        line; then the new part of the line is numbered in the database."""
        since = None if cursor.high_water_key else self.floor
        try:
            walk = main_line_sync(
                self.client,
                self.repository,
                etag=cursor.etag,
                since=since,
                on_page=lambda number, last: self._page_done("commits", number, last),
            )
        except GitHubError as exc:
            if exc.status != 409:  # 409: the repository is empty
                raise
            self.summary.skipped.append(f"{self.repository.full_name}: no commits ({exc})")
            walk = MainLineWalk(etag=cursor.etag)
        self.summary.add(walk.result)
        if walk.not_modified:
            _cursor_done(cursor, timezone.now())
            return
        _cursor_done(cursor, timezone.now(), etag=walk.etag, high_water_key=walk.head or cursor.high_water_key)

    # -- tags ---------------------------------------------------------------------------------------------------
    def tags(self, cursor: SyncCursor) -> None:
        def write(page: Page) -> None:
            with transaction.atomic():
                self.summary.add(ingest_tags(self.repository, page.items))
            self._page_done("tags", page.number, page.last_page)

        _walk_each_conditional(self.client, f"{self.api}/tags", cursor, write)


# -- pieces shared with the webhooks ------------------------------------------------------------------------------
def pull_request_details_sync(
    client: GitHubClient, pull_request: PullRequest, *, url: str, updated_at: datetime | None
) -> IngestResult:
    """Read a pull request's reviews and own commits (one GraphQL query, or two REST lists), then mark them synced
    for `updated_at`."""
    if settings.GITHUB_SYNC_GRAPHQL:
        return pull_request_details_read(client, pull_request, updated_at=updated_at)
    result = IngestResult()
    for page in client.iter_pages(f"{url}/reviews"):
        with transaction.atomic():
            result.add(ingest_reviews(pull_request, page.items))
    for page in client.iter_pages(f"{url}/commits"):
        with transaction.atomic():
            result.add(ingest_pull_request_commits(pull_request, page.items))
    PullRequest.objects.filter(pk=pull_request.pk).update(details_synced_for=updated_at)
    return result
