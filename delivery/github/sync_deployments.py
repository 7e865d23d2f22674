"""The sync's lists read newest first by id (see sync.py): deployments with their statuses, and workflow runs.
New objects are those above the bookmark (inside the backfill window); known ones this recent are read again when
they may have moved, and known unfinished ones the list did not show are asked for one by one.

A page of deployments is read in full with every status of each (through GraphQL, a page of deployments with
their statuses nested is one query; without it, REST's list and a request per deployment), then written in one
transaction through the ingest layer: the deployments, then all their statuses at once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction

from delivery.github import graphql_nodes as nodes
from delivery.github.client import GitHubClient, GitHubNotFound, an_object
from delivery.github.ingest import ingest_workflow_runs
from delivery.github.ingest_deployments import ingest_deployment_statuses_of, ingest_deployments_with_statuses
from delivery.github.models import Deployment, SyncCursor, WorkflowRun
from delivery.github.rows import Need, a_text, a_time, github_id, parse_time
from delivery.github.sync_graphql import PAGE_MAX, Pages, nested_all, unchanged_since_last_pass

if TYPE_CHECKING:
    from delivery.github.sync import _RepositorySync


# The fields of each kind the sync reads itself, before the ingest layer sees the objects (to filter on a time,
# compare an id with a bookmark, follow a URL): an object where one is malformed is skipped, counted, with a reason.
DEPLOYMENT_NEEDS: dict[str, Need] = {
    "id": github_id,
    "created_at": a_time,
    "updated_at": a_time,
    "statuses_url": a_text,
}
GRAPHQL_DEPLOYMENT_NEEDS: dict[str, Need] = {"id": github_id, "created_at": a_time, "updated_at": a_time}
RUN_NEEDS: dict[str, Need] = {"id": github_id, "created_at": a_time}


def _read_on(job: _RepositorySync, items: list[dict[str, Any]], high: int) -> bool:
    """Read the next page while this page's oldest item is new (above the bookmark, inside the backfill window)
    or recent enough to be re-read."""
    if not items:
        return False
    created = parse_time(items[-1]["created_at"])
    return (items[-1]["id"] > high and created >= job.floor) or created >= job.recent


# -- deployments ------------------------------------------------------------------------------------------------
def deployments_pass(job: _RepositorySync, cursor: SyncCursor) -> None:
    """New deployments (ids above the bookmark) with their statuses; recent known ones whose `updated_at` moved,
    re-read; then the known ones still unfinished (their statuses may move without a list change). Through
    GraphQL when GITHUB_SYNC_GRAPHQL is on (deployments_pass_graphql), else REST's list."""
    if settings.GITHUB_SYNC_GRAPHQL:
        deployments_pass_graphql(job, cursor)
        return
    high = int(cursor.high_water_key or 0)
    new_high, first_etag = high, cursor.etag
    handled: set[int] = set()
    for page in job.client.iter_pages(f"{job.api}/deployments", etag=cursor.etag):
        if page.not_modified:
            break  # nothing new; the known unfinished ones are still rechecked below
        if page.number == 1:
            first_etag = page.etag
        items = job._screened(page.items, DEPLOYMENT_NEEDS, "deployment")
        chosen = _new_or_moved(job, items, high)
        _deployments_write(job, [(item, statuses_read_rest(job.client, item["statuses_url"])) for item in chosen])
        new_high = max([new_high, *(d["id"] for d in chosen)])
        job._page_done("deployments", page.number, page.last_page)
        handled.update(d["id"] for d in chosen)
        if not _read_on(job, items, high):
            break
    _unfinished_recheck(job, high, handled)
    job.cursor_done(cursor, etag=first_etag, high_water_key=str(new_high))


def deployments_pass_graphql(job: _RepositorySync, cursor: SyncCursor) -> None:
    """The same pass through GraphQL's `repository.deployments`, newest first: a page of up to 100 deployments
    with their statuses nested is one query (REST: a list request plus a statuses request per deployment).
    GraphQL has no transient/production flags and no `ref` once the branch or tag is gone: those are left out
    of the rows (graphql_nodes.deployment), so what REST or a webhook said stays; environments are classified by
    the repository's settings. REST's first list page is asked first with its ETag: a 304 costs nothing, a query
    at least a point, so an unchanged repository is read for free (the whole first page, not one item: the
    list is by id, so a status on the second newest deployment changes only its `updated_at`)."""
    unchanged, etag = unchanged_since_last_pass(
        job, cursor, f"{job.api}/deployments", {"per_page": job.client.per_page}
    )
    high = int(cursor.high_water_key or 0)
    new_high = high
    handled: set[int] = set()
    pages = Pages(size=PAGE_MAX)  # small nodes: a full page does not time out, and halves if it does
    while not unchanged:
        page_nodes, after = pages.read(job, nodes.DEPLOYMENTS, "deployments")
        mapped = [(nodes.deployment(node), node) for node in page_nodes]
        node_of = {id(item): node for item, node in mapped}
        items = job._screened([item for item, _ in mapped], GRAPHQL_DEPLOYMENT_NEEDS, "deployment")
        chosen = _new_or_moved(job, items, high)
        _deployments_write(job, [(item, _statuses_graphql(job, node_of[id(item)])) for item in chosen])
        new_high = max([new_high, *(d["id"] for d in chosen)])
        job._page_done("deployments", pages.number, None)
        handled.update(d["id"] for d in chosen)
        if after is None or not _read_on(job, items, high):
            break
        pages.after = after
    _unfinished_recheck(job, high, handled)
    job.cursor_done(cursor, etag=etag, high_water_key=str(new_high))


def _new_or_moved(job: _RepositorySync, items: list[dict[str, Any]], high: int) -> list[dict[str, Any]]:
    """A page's new deployments (above the bookmark, inside the backfill window) and its known recent ones whose
    `updated_at` moved: they got a status since (e.g. GitHub's automatic "inactive" once a newer deployment of
    the environment succeeded)."""
    fresh = [d for d in items if d["id"] > high and parse_time(d["created_at"]) >= job.floor]
    known = [d for d in items if d["id"] <= high and parse_time(d["created_at"]) >= job.recent]
    stored = dict(
        Deployment.objects.filter(repository=job.repository, github_id__in=[d["id"] for d in known]).values_list(
            "github_id", "updated_at"
        )
        if known
        else ()
    )
    return fresh + [d for d in known if stored.get(d["id"]) != parse_time(d["updated_at"])]


def _unfinished_recheck(job: _RepositorySync, high: int, handled: set[int]) -> None:
    """Known recent deployments still unfinished that the pages did not show: their statuses, a REST request
    each (there are few: the deployments in flight)."""
    unfinished = Deployment.objects.filter(
        repository=job.repository, github_id__lte=high, created_at__gte=job.recent
    ).exclude(state__in=Deployment.TERMINAL_STATES)
    for deployment in unfinished.exclude(github_id__in=handled):
        try:
            statuses = statuses_read_rest(job.client, f"{job.api}/deployments/{deployment.github_id}/statuses")
        except GitHubNotFound:
            job.summary.skipped.append(f"{job.repository.full_name} deployment {deployment.github_id}: deleted")
            continue
        with transaction.atomic():
            job.summary.add(ingest_deployment_statuses_of([(deployment, statuses)]))


def _statuses_graphql(job: _RepositorySync, node: dict[str, Any]) -> list[dict[str, Any]]:
    """Every status of a deployment's node in REST's shape: those nested in the page, then (past a hundred) the
    rest by the deployment's node id."""
    return [nodes.deployment_status(n) for n in nested_all(job.client, node, "statuses", nodes.DEPLOYMENT_STATUSES)]


def statuses_read_rest(client: GitHubClient, url: str) -> list[dict[str, Any]]:
    """Every status of one deployment through REST (a request per page of them)."""
    return [status for page in client.iter_pages(url) for status in page.items]


def _deployments_write(job: _RepositorySync, page: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> None:
    """A page of deployments, each with every status of it (read first), written in one transaction: the
    deployments, then the statuses of them all at once."""
    if not page:
        return
    with transaction.atomic():
        job.summary.add(ingest_deployments_with_statuses(job.repository, page))


# -- workflow runs ----------------------------------------------------------------------------------------------
def workflow_runs_pass(job: _RepositorySync, cursor: SyncCursor) -> None:
    """New runs; recent known ones again from the same pages (re-runs keep their id); then known unfinished runs
    the list did not show (it answered 304, or they are on a page not read)."""
    high = int(cursor.high_water_key or 0)
    new_high, first_etag = high, cursor.etag
    handled: set[int] = set()
    for page in job.client.iter_pages(f"{job.api}/actions/runs", etag=cursor.etag, items_key="workflow_runs"):
        if page.not_modified:
            break  # nothing new; the known unfinished ones are still rechecked below
        if page.number == 1:
            first_etag = page.etag
        items = job._screened(page.items, RUN_NEEDS, "workflow run")
        fresh = [r for r in items if r["id"] > high and parse_time(r["created_at"]) >= job.floor]
        # Recent known runs are upserted again: a re-run keeps its id and moves its status and attempt, and an
        # unchanged one is not written.
        recent = [r for r in items if r["id"] <= high and parse_time(r["created_at"]) >= job.recent]
        with transaction.atomic():
            job.summary.add(ingest_workflow_runs(job.repository, fresh + recent))
        handled.update(r["id"] for r in fresh + recent)
        new_high = max([new_high, *(r["id"] for r in fresh)])
        job._page_done("workflow runs", page.number, page.last_page)
        if not _read_on(job, items, high):
            break
    unfinished = WorkflowRun.objects.filter(
        repository=job.repository, github_id__lte=high, created_at__gte=job.recent
    ).exclude(status="completed")
    for run in unfinished.exclude(github_id__in=handled).only("github_id"):
        try:
            response = job.client.get(f"{job.api}/actions/runs/{run.github_id}", shape=an_object)
        except GitHubNotFound:
            job.summary.skipped.append(f"{job.repository.full_name} workflow run {run.github_id}: deleted")
            continue
        with transaction.atomic():
            job.summary.add(ingest_workflow_runs(job.repository, [response.data]))
    job.cursor_done(cursor, etag=first_etag, high_water_key=str(new_high))
