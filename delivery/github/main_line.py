"""The default branch's first-parent line: read newest first from GitHub down to what is already placed, and
numbered in the database (`Commit.main_position`), which is what says which commits a deployment contains."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction

from delivery.github.client import GitHubClient
from delivery.github.ingest import ingest_commits
from delivery.github.models import Commit, Repository
from delivery.github.rows import IngestResult, Need, a_text, items_screened

logger = logging.getLogger(__name__)

COMMIT_NEEDS: dict[str, Need] = {"sha": a_text}
"""What the walk reads of a commit itself (to find where the placed part of the line begins)."""


@dataclass
class MainLineWalk:
    head: str = ""
    etag: str = ""
    not_modified: bool = False
    result: IngestResult = field(default_factory=IngestResult)


def main_line_sync(
    client: GitHubClient,
    repository: Repository,
    *,
    etag: str = "",
    since: datetime | None = None,
    on_page: Callable[[int, int | None], None] | None = None,
) -> MainLineWalk:
    """Walk the default branch newest first from its head down to the first commit already placed on the
    first-parent line, ingest the new commits, and number them. Usually one request once the line is known."""
    params: dict[str, Any] = {"sha": repository.default_branch}
    if since is not None:
        params["since"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    walk = MainLineWalk(etag=etag)
    for page in client.iter_pages(f"/repos/{repository.full_name}/commits", params=params, etag=etag):
        if page.not_modified:
            walk.not_modified = True
            return walk
        items, screened = items_screened(page.items, COMMIT_NEEDS, f"{repository.full_name} commit")
        walk.result.add(screened)
        if page.number == 1:
            walk.etag = page.etag
            walk.head = items[0]["sha"] if items else ""
        shas = [c["sha"] for c in items]
        placed = set(
            Commit.objects.filter(repository=repository, sha__in=shas, main_position__isnull=False).values_list(
                "sha", flat=True
            )
        )
        new = []
        for item in items:
            if item["sha"] in placed:
                break
            new.append(item)
        with transaction.atomic():
            walk.result.add(ingest_commits(repository, new))
        if on_page is not None:
            on_page(page.number, page.last_page)
        if len(new) < len(items):
            break
    if walk.head:
        assign_main_positions(repository, walk.head, anomalies=walk.result.skipped)
    return walk


# -- the first-parent line ---------------------------------------------------------------------------------------
# From the head down its first parents while they have no position yet. The depth is bounded by the number of the
# repository's commits, so a history with a cycle (a commit that is its own parent, as in one of GitHub's own
# documentation examples, or a longer loop) ends instead of recursing forever; `line` keeps each commit once, at
# its first depth, which cuts a cycle where it closes.
_CHAIN = """
WITH RECURSIVE chain(id, sha, first_parent_sha, main_position, depth) AS (
    SELECT id, sha, first_parent_sha, main_position, 0 FROM {table} WHERE repository_id = %s AND sha = %s
    UNION ALL
    SELECT c.id, c.sha, c.first_parent_sha, c.main_position, chain.depth + 1
    FROM {table} c JOIN chain ON c.repository_id = %s AND c.sha = chain.first_parent_sha
    WHERE chain.main_position IS NULL AND chain.depth < %s
),
line(id, depth, main_position) AS (SELECT id, MIN(depth), MAX(main_position) FROM chain GROUP BY id)
"""


def assign_main_positions(repository: Repository, head_sha: str, *, anomalies: list[str] | None = None) -> int:
    """Number the default branch's first-parent line from `head_sha` down to the first commit that already
    has a position (or the oldest commit known). Done in the database with a recursive query, so it needs
    no memory per commit. Returns how many commits were placed. A cycle in the history is logged (and added to
    `anomalies`); the line then ends at the commit that closes it."""
    # The table name comes from the model, never from input; every value is a query parameter.
    table = Commit._meta.db_table
    chain = _CHAIN.format(table=table)
    bound = Commit.objects.filter(repository=repository).count()
    params: list[Any] = [repository.pk, head_sha, repository.pk, bound]
    summary_sql = (
        "SELECT MAX(depth), MAX(main_position), MAX(CASE WHEN main_position IS NULL THEN 0 ELSE 1 END), "
        "SUM(CASE WHEN main_position IS NULL THEN 1 ELSE 0 END), (SELECT COUNT(*) FROM chain) - COUNT(*) FROM line"
    )
    update_sql = (
        f"UPDATE {table} SET main_position = %s + %s - "  # noqa: S608
        f"(SELECT depth FROM line WHERE line.id = {table}.id) "
        "WHERE id IN (SELECT id FROM line WHERE main_position IS NULL)"
    )
    closing_sql = "SELECT sha, first_parent_sha FROM chain WHERE depth = %s"  # the commit that closes a cycle
    with connection.cursor() as cur:
        cur.execute(chain + summary_sql, params)
        max_depth, anchor_position, anchored, unplaced, repeated = cur.fetchone()
        if max_depth is None or not unplaced:
            return 0
        if repeated:
            cur.execute(chain + closing_sql, [*params, max_depth])
            closing_sha, parent_sha = cur.fetchone()
            reason = (
                f"{repository.full_name}: the first-parent line from {head_sha[:12]} runs into a cycle (commit "
                f"{closing_sha[:12]} has {parent_sha[:12]}, already on the line, as its first parent); "
                "the line ends there"
            )
            logger.warning(reason)
            if anomalies is not None:
                anomalies.append(reason)
        # The anchor is the deepest row: an already placed commit, or the oldest known one (position 0).
        base = anchor_position if anchored else 0
        cur.execute(chain + update_sql, [*params, base, max_depth])
    return int(unplaced)
