"""The sync's lists read newest first by id (see sync.py): deployments with their statuses, and workflow runs.
New objects are those above the bookmark (inside the backfill window); known ones this recent are read again when
they may have moved, and known unfinished ones the list did not show are asked for one by one.

A page of deployments is read in full with every status of each (through GraphQL, the page's statuses in one
query; without it, or for a deployment without a node id, a REST request per deployment), then written in one
transaction through the ingest layer: the deployments, then all their statuses at once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction

from delivery.github import graphql_nodes as nodes
from delivery.github.client import GitHubClient, GitHubNotFound, an_object
from delivery.github.graphql import graphql_query
from delivery.github.ingest import ingest_workflow_runs
from delivery.github.ingest_deployments import ingest_deployment_statuses_of, ingest_deployments_with_statuses
from delivery.github.models import Deployment, SyncCursor, WorkflowRun
from delivery.github.rows import Need, a_text, a_time, github_id, parse_time
from delivery.github.sync_graphql import PAGE_MAX, nested_all

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
    re-read; then the known ones still unfinished (their statuses may move without a list change)."""
    high = int(cursor.high_water_key or 0)
    new_high, first_etag = high, cursor.etag
    handled: set[int] = set()
    for page in job.client.iter_pages(f"{job.api}/deployments", etag=cursor.etag):
        if page.not_modified:
            break  # nothing new; the known unfinished ones are still rechecked below
        if page.number == 1:
            first_etag = page.etag
        items = job._screened(page.items, DEPLOYMENT_NEEDS, "deployment")
        fresh = [d for d in items if d["id"] > high and parse_time(d["created_at"]) >= job.floor]
        # Known recent deployments whose `updated_at` moved got a status since (e.g. GitHub's automatic "inactive"
        # once a newer deployment of the environment succeeded).
        known = [d for d in items if d["id"] <= high and parse_time(d["created_at"]) >= job.recent]
        stored = dict(
            Deployment.objects.filter(repository=job.repository, github_id__in=[d["id"] for d in known]).values_list(
                "github_id", "updated_at"
            )
            if known
            else ()
        )
        moved = [d for d in known if stored.get(d["id"]) != parse_time(d["updated_at"])]
        deployments_with_statuses_write(job, fresh + moved)
        new_high = max([new_high, *(d["id"] for d in fresh + moved)])
        job._page_done("deployments", page.number, page.last_page)
        handled.update(d["id"] for d in fresh + moved)
        if not _read_on(job, items, high):
            break
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
    job.cursor_done(cursor, etag=first_etag, high_water_key=str(new_high))


def deployment_statuses_read(job: _RepositorySync, node_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every status of these deployments (by node id), 100 deployments a query, in REST's shape. The deployments
    themselves come from REST's list, 100 a request, which keeps what GraphQL lacks (a deleted branch's ref, the
    environment flags); only their statuses, a request each in REST, come from here."""
    found: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(node_ids), PAGE_MAX):
        ids = node_ids[start : start + PAGE_MAX]
        data = graphql_query(job.client, nodes.DEPLOYMENTS_STATUSES_BY_ID, {"ids": ids})
        for node in data.get("nodes") or []:
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                found[node["id"]] = [
                    nodes.deployment_status(n)
                    for n in nested_all(job.client, node, "statuses", nodes.DEPLOYMENT_STATUSES)
                ]
    return found


def statuses_read_rest(client: GitHubClient, url: str) -> list[dict[str, Any]]:
    """Every status of one deployment through REST (a request per page of them)."""
    return [status for page in client.iter_pages(url) for status in page.items]


def deployments_with_statuses_write(job: _RepositorySync, items: list[dict[str, Any]]) -> None:
    """A page of deployments (REST's list) with every status of each, read first, then written in one transaction:
    the deployments, then the statuses of them all at once."""
    by_node: dict[str, list[dict[str, Any]]] = {}
    if settings.GITHUB_SYNC_GRAPHQL:
        by_node = deployment_statuses_read(job, [d["node_id"] for d in items if isinstance(d.get("node_id"), str)])
    statuses: dict[int, list[dict[str, Any]]] = {}
    for item in items:
        node_id = item.get("node_id")
        if isinstance(node_id, str) and node_id in by_node:
            statuses[item["id"]] = by_node[node_id]
        else:
            statuses[item["id"]] = statuses_read_rest(job.client, item["statuses_url"])
    if not items:
        return
    with transaction.atomic():
        job.summary.add(
            ingest_deployments_with_statuses(job.repository, [(item, statuses[item["id"]]) for item in items])
        )


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
