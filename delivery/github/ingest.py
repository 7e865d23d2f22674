"""The ingest layer: one function per GitHub object kind, taking GitHub's JSON representation (a REST
response item or the object inside a webhook payload) and upserting it on its GitHub identity.

Applying the same objects twice changes nothing, and reports them as unchanged; that is what lets the sync
resume after an interruption and lets webhooks and the sync feed the same rows. Writes go through
INSERT ... ON CONFLICT DO UPDATE, so two writers racing on one key cannot create a duplicate. A page of objects is
written with a few statements whatever its size. Deployments and their statuses: ingest_deployments.py."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db.models import Case, DateTimeField, Q, Value, When

from delivery.accounts.models import Developer
from delivery.github.models import (
    Commit,
    PullRequest,
    PullRequestCommit,
    Repository,
    Review,
    ReviewRequest,
    Tag,
    WorkflowRun,
)
from delivery.github.rows import (
    REVIEW_DISMISSAL,
    RUN_PROGRESS,
    UPDATED,
    IngestResult,
    Row,
    parse_time,
    rows_built,
    upsert_rows,
    upserts_by_shape,
)

logger = logging.getLogger(__name__)


# -- people -------------------------------------------------------------------------------------------------
def ingest_users(users: Iterable[dict[str, Any] | None]) -> IngestResult:
    """GitHub user objects (as embedded in every other object; None for a deleted account) → Developers."""
    result = IngestResult()
    rows = rows_built(
        (u for u in users if isinstance(u, dict) and not _is_ghost(u)),
        lambda u: {
            "github_id": u["id"],
            "login": u["login"],
            "is_bot": u.get("type") == "Bot",
            # A source that does not say (a git author's account in GraphQL) leaves what another said.
            **{field: u.get(field) or "" for field in ("avatar_url", "html_url") if field in u},
        },
        result,
        "user",
        Developer,
    )
    upserted = upserts_by_shape(Developer, rows, key=["github_id"])
    result.add(upserted)
    result.ids = upserted.ids
    return result


def _is_ghost(user: dict[str, Any]) -> bool:
    """GitHub's stand-in for a deleted account (some endpoints and payloads say `ghost`, lists say null)."""
    return user.get("login") == "ghost"


def _user_id(users: dict[Any, int], user: dict[str, Any] | None) -> int | None:
    """The Developer of an embedded user object (None for a deleted account); a user that is not an object makes
    the object holding it malformed."""
    if user is not None and not isinstance(user, dict):
        raise TypeError(f"a user that is not an object: {user!r}"[:120])
    return users.get(user["id"]) if user and not _is_ghost(user) else None


def _objects(value: Any) -> list[Any]:
    """A list GitHub embeds (reviewers, parents); anything else makes the object holding it malformed."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"a list expected, not {type(value).__name__}")
    return value


def _leniently(value: Any) -> list[Any]:
    """The same list where a malformed one is only ignored (its holder is skipped when its row is built)."""
    return value if isinstance(value, list) else []


# -- repositories ---------------------------------------------------------------------------------------------
def ingest_repositories(items: Sequence[dict[str, Any]]) -> IngestResult:
    result = IngestResult()
    rows = rows_built(
        items,
        lambda r: {
            "github_id": r["id"],
            "owner": r["owner"]["login"],
            "name": r["name"],
            "full_name": r["full_name"],
            "description": r.get("description") or "",
            "html_url": r.get("html_url") or "",
            "default_branch": r.get("default_branch") or "main",
            "private": bool(r.get("private")),
            "archived": bool(r.get("archived")),
            "pushed_at": parse_time(r.get("pushed_at")),
            "created_at": parse_time(r.get("created_at")),
        },
        result,
        "repository",
        Repository,
    )
    # A name now held by another GitHub id (the old repository was deleted and re-created, or renamed while
    # a new one took its name): park the old row under a name of its own so the new one can have it.
    owners = {row["full_name"]: row["github_id"] for row in rows}
    for stale in Repository.objects.filter(full_name__in=owners).exclude(github_id__in=owners.values()):
        stale.full_name = f"{stale.full_name}~{stale.github_id}"[:201]
        stale.save(update_fields=["full_name"])
    upserted = upsert_rows(Repository, rows, key=["github_id"])
    result.add(upserted)
    result.ids = upserted.ids
    return result


# -- pull requests, reviews, their commits -----------------------------------------------------------------
def ingest_pull_requests(repository: Repository, items: Sequence[dict[str, Any]]) -> IngestResult:
    users = ingest_users(
        [u for pr in items for u in (pr.get("user"), pr.get("merged_by"), *_leniently(pr.get("requested_reviewers")))]
    )
    result = IngestResult()
    result.add_skips(users)
    user_ids = users.ids

    def build(pr: dict[str, Any]) -> Row:
        if pr.get("user") is None:
            logger.info("%s#%s: author account deleted; kept without an author", repository, pr.get("number"))
        for reviewer in _objects(pr.get("requested_reviewers")):
            _user_id(user_ids, reviewer)
        return {
            "github_id": pr["id"],
            "repository_id": repository.pk,
            "number": pr["number"],
            "title": (pr.get("title") or "")[:500],
            "author_id": _user_id(user_ids, pr.get("user")),
            "state": pr["state"],
            "draft": bool(pr.get("draft")),
            "html_url": pr.get("html_url") or "",
            "head_ref": (pr.get("head") or {}).get("ref") or "",
            "head_sha": (pr.get("head") or {}).get("sha") or "",
            "base_ref": (pr.get("base") or {}).get("ref") or "",
            "created_at": parse_time(pr["created_at"]),
            "updated_at": parse_time(pr["updated_at"]),
            "closed_at": parse_time(pr.get("closed_at")),
            "merged_at": parse_time(pr.get("merged_at")),
            "merge_commit_sha": pr.get("merge_commit_sha") or "",
            **({"merged_by_id": _user_id(user_ids, pr.get("merged_by"))} if "merged_by" in pr else {}),
            **{f: pr[f] for f in ("additions", "deletions", "changed_files") if f in pr},
        }

    rows = rows_built(items, build, result, f"{repository} pull request", PullRequest)
    # Rows from list endpoints lack merged_by and sizes; detail rows have them: upsert each shape separately
    # so a list row never blanks what a detail row wrote.
    for shape in _group_by_shape(rows):
        upserted = upsert_rows(PullRequest, shape, key=["github_id"], guard=UPDATED)
        result.add(upserted)
        result.ids.update(upserted.ids)
    _review_requests_set(items, result.ids, user_ids)
    return result


def _review_requests_set(items: Sequence[dict[str, Any]], pr_ids: dict[Any, int], user_ids: dict[Any, int]) -> None:
    """Who is asked to review each PR, from the copies that are the stored (latest) ones: an older copy read
    late does not bring back a request that was removed. Closed PRs have none."""
    wanted: dict[int, set[int]] = {}
    copies: dict[int, datetime | None] = {}
    for pr in items:
        identity = pr.get("id")
        pk = pr_ids.get(identity) if isinstance(identity, int) else None  # a malformed PR has no row
        if pk is None or "requested_reviewers" not in pr:
            continue
        copies[pk] = parse_time(pr.get("updated_at"))
        reviewers = [_user_id(user_ids, u) for u in pr.get("requested_reviewers") or []]
        wanted[pk] = {r for r in reviewers if r is not None} if pr.get("state") == "open" else set()
    if not wanted:
        return
    current = {
        pk
        for pk, updated_at in PullRequest.objects.filter(pk__in=list(wanted)).values_list("pk", "updated_at")
        if copies[pk] == updated_at
    }
    stored: dict[int, set[int]] = defaultdict(set)
    for pr_id, reviewer_id in ReviewRequest.objects.filter(pull_request_id__in=current).values_list(
        "pull_request_id", "reviewer_id"
    ):
        stored[pr_id].add(reviewer_id)
    gone = Q()
    for pk in current:
        for reviewer_id in stored[pk] - wanted[pk]:
            gone |= Q(pull_request_id=pk, reviewer_id=reviewer_id)
    if gone:
        ReviewRequest.objects.filter(gone).delete()
    new = [ReviewRequest(pull_request_id=pk, reviewer_id=r) for pk in current for r in wanted[pk] - stored[pk]]
    if new:
        ReviewRequest.objects.bulk_create(new, ignore_conflicts=True)


def _group_by_shape(rows: list[Row]) -> list[list[Row]]:
    shapes: dict[frozenset[str], list[Row]] = {}
    for row in rows:
        shapes.setdefault(frozenset(row), []).append(row)
    return list(shapes.values())


def ingest_reviews(pull_request: PullRequest, items: Sequence[dict[str, Any]]) -> IngestResult:
    return ingest_reviews_of([(pull_request, items)])


def ingest_reviews_of(pages: Sequence[tuple[PullRequest, Sequence[dict[str, Any]]]]) -> IngestResult:
    """The reviews of several pull requests at once (a page of them): one write of their authors, one of theirs."""
    users = ingest_users([r.get("user") for _, items in pages for r in items])
    result = IngestResult()
    result.add_skips(users)
    rows = []
    for pull_request, items in pages:
        rows += rows_built(
            items,
            lambda r, pr=pull_request: {
                "github_id": r["id"],
                "pull_request_id": pr.pk,
                "author_id": _user_id(users.ids, r.get("user")),
                # REST says "APPROVED", webhook payloads say "approved".
                "state": r["state"].upper(),
                "commit_sha": r.get("commit_id") or "",
                "submitted_at": parse_time(r.get("submitted_at")),
                "html_url": r.get("html_url") or "",
            },
            result,
            f"{pull_request} review",
            Review,
        )
    result.add(upsert_rows(Review, rows, key=["github_id"], guard=REVIEW_DISMISSAL))
    return result


def ingest_pull_request_commits(pull_request: PullRequest, items: Sequence[dict[str, Any]]) -> IngestResult:
    return ingest_pull_request_commits_of([(pull_request, items)])


def ingest_pull_request_commits_of(pages: Sequence[tuple[PullRequest, Sequence[dict[str, Any]]]]) -> IngestResult:
    """The own commits of several pull requests at once: one write of their authors, one of theirs."""
    users = ingest_users([c.get("author") for _, items in pages for c in items])
    result = IngestResult()
    result.add_skips(users)
    rows = []
    for pull_request, items in pages:
        rows += rows_built(
            items,
            lambda c, pr=pull_request: {
                "pull_request_id": pr.pk,
                "sha": c["sha"],
                "message": c["commit"].get("message") or "",
                "author_id": _user_id(users.ids, c.get("author")),
                "authored_at": parse_time((c["commit"].get("author") or {}).get("date")),
                "committed_at": parse_time((c["commit"].get("committer") or {}).get("date")),
            },
            result,
            f"{pull_request} commit",
            PullRequestCommit,
        )
    result.add(upsert_rows(PullRequestCommit, rows, key=["pull_request_id", "sha"]))
    return result


PullRequestWithDetails = tuple[dict[str, Any], Sequence[dict[str, Any]] | None, Sequence[dict[str, Any]] | None]
"""A pull request with every review and own commit of it (None: not read; what is stored stays)."""


def ingest_pull_requests_with_details(repository: Repository, page: Sequence[PullRequestWithDetails]) -> IngestResult:
    """A page of pull requests, then the reviews and commits of those whose details are not stored for this version
    yet, then those marked synced for it: a handful of statements whatever the page's size (the caller holds the
    transaction)."""
    result = ingest_pull_requests(repository, [item for item, _, _ in page])
    synced_for = dict(PullRequest.objects.filter(pk__in=result.ids.values()).values_list("pk", "details_synced_for"))
    reviews: list[Any] = []
    commits: list[Any] = []
    synced: dict[int, Any] = {}
    for item, its_reviews, its_commits in page:
        identity = item.get("id")
        pk = result.ids.get(identity) if isinstance(identity, int) else None  # a malformed PR has no row
        updated_at = parse_time(item["updated_at"]) if pk is not None else None
        if pk is None or its_reviews is None or its_commits is None or synced_for.get(pk) == updated_at:
            continue
        pull_request = PullRequest(pk=pk, repository=repository, number=item["number"])
        reviews.append((pull_request, its_reviews))
        commits.append((pull_request, its_commits))
        synced[pk] = updated_at
    result.add(ingest_reviews_of(reviews))
    result.add(ingest_pull_request_commits_of(commits))
    if synced:
        whens = [When(pk=pk, then=Value(at)) for pk, at in synced.items()]
        PullRequest.objects.filter(pk__in=list(synced)).update(
            details_synced_for=Case(*whens, output_field=DateTimeField())
        )
    return result


# -- commits on the default branch, tags --------------------------------------------------------------------
def ingest_commits(repository: Repository, items: Sequence[dict[str, Any]]) -> IngestResult:
    """Commits (REST commit objects). Their first-parent positions are assigned by sync.assign_main_positions."""
    users = ingest_users([c.get("author") for c in items])
    result = IngestResult()
    result.add_skips(users)

    def build(c: dict[str, Any]) -> Row:
        parents = [p["sha"] for p in _objects(c.get("parents"))]
        author = c["commit"].get("author") or {}
        return {
            "repository_id": repository.pk,
            "sha": c["sha"],
            "message": c["commit"].get("message") or "",
            "author_id": _user_id(users.ids, c.get("author")),
            "author_name": (author.get("name") or "")[:200],
            "author_email": (author.get("email") or "")[:254],
            "authored_at": parse_time(author.get("date")),
            "committed_at": parse_time((c["commit"].get("committer") or {}).get("date")),
            "parent_shas": parents,
            "first_parent_sha": parents[0] if parents else "",
            "html_url": c.get("html_url") or "",
        }

    rows = rows_built(items, build, result, f"{repository} commit", Commit)
    upserted = upsert_rows(Commit, rows, key=["repository_id", "sha"])
    result.add(upserted)
    result.ids = upserted.ids
    return result


def ingest_tags(
    repository: Repository, items: Sequence[dict[str, Any]], *, created_at: datetime | None = None
) -> IngestResult:
    """Tags as GitHub lists them (`name` + `commit.sha`). `created_at` is known only from a `create` webhook."""
    result = IngestResult()
    rows = rows_built(
        items,
        lambda t: {
            "repository_id": repository.pk,
            "name": t["name"],
            "sha": t["commit"]["sha"],
            "created_at": created_at,
        },
        result,
        f"{repository} tag",
        Tag,
    )
    upserted = upsert_rows(Tag, rows, key=["repository_id", "name"], insert_only=["created_at"])
    result.add(upserted)
    known = set(
        Commit.objects.filter(repository=repository, sha__in=[r["sha"] for r in rows]).values_list("sha", flat=True)
    )
    for row in rows:
        if row["sha"] not in known:
            reason = f"{repository} tag {row['name']} points at unknown commit {row['sha'][:12]}: kept, not linked"
            logger.info(reason)
            result.skipped.append(reason)
    return result


# -- workflow runs (deployments: ingest_deployments.py) ----------------------------------------------------------
def ingest_workflow_runs(repository: Repository, items: Sequence[dict[str, Any]]) -> IngestResult:
    users = ingest_users([r.get("actor") or r.get("triggering_actor") for r in items])
    result = IngestResult()
    result.add_skips(users)
    rows = rows_built(
        items,
        lambda r: {
            "github_id": r["id"],
            "repository_id": repository.pk,
            "workflow_id": r["workflow_id"],
            "name": r.get("name") or "",
            "path": r.get("path") or "",
            "event": r["event"],
            "status": r.get("status") or "",
            "conclusion": r.get("conclusion") or "",
            "head_branch": r.get("head_branch") or "",
            "head_sha": r["head_sha"],
            "run_number": r["run_number"],
            "run_attempt": r.get("run_attempt") or 1,
            "actor_id": _user_id(users.ids, r.get("actor") or r.get("triggering_actor")),
            "html_url": r.get("html_url") or "",
            "created_at": parse_time(r["created_at"]),
            "updated_at": parse_time(r["updated_at"]),
            "run_started_at": parse_time(r.get("run_started_at")),
        },
        result,
        f"{repository} workflow run",
        WorkflowRun,
    )
    upserted = upsert_rows(WorkflowRun, rows, key=["github_id"], guard=RUN_PROGRESS)
    result.add(upserted)
    result.ids = upserted.ids
    return result
