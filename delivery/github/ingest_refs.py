"""Ingest for what only webhooks tell: branches (first seen, deleted), tag creation times, and the commits of a
push (which come without their parents).

Every function here gives the same result whatever order its events arrive in, and however often: first
times only move earlier, last times only move later, each with one conditional UPDATE in the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import Q

from delivery.accounts.models import Developer
from delivery.github.ingest import IngestResult, parse_time
from delivery.github.models import Branch, Commit, Repository, Tag


# -- branches ---------------------------------------------------------------------------------------------------
def ingest_branch_seen(
    repository: Repository, *, name: str, at: datetime, head_sha: str = "", before: str = ""
) -> None:
    """A branch was created or pushed to at `at` (moving its head from `before` to `head_sha`). Its first-seen
    time only moves earlier; its head follows the latest push, and of two pushes in the same second, the one
    that continues from the other."""
    Branch.objects.bulk_create(
        [Branch(repository=repository, name=name, first_seen_at=at, head_sha=head_sha, head_updated_at=at)],
        ignore_conflicts=True,
    )
    Branch.objects.filter(repository=repository, name=name, first_seen_at__gt=at).update(first_seen_at=at)
    if head_sha:
        later = Q(head_updated_at__isnull=True) | Q(head_updated_at__lt=at)
        same_second_successor = Q(head_updated_at=at) & (Q(head_sha="") | Q(head_sha=before))
        Branch.objects.filter(later | same_second_successor, repository=repository, name=name).exclude(
            head_sha=head_sha, head_updated_at=at
        ).update(head_sha=head_sha, head_updated_at=at)
    else:
        Branch.objects.filter(
            Q(head_updated_at__isnull=True) | Q(head_updated_at__lt=at), repository=repository, name=name
        ).update(head_updated_at=at)


def ingest_branch_deleted(repository: Repository, *, name: str, at: datetime) -> None:
    """A branch was deleted at `at` (it counts as deleted while no later push or creation came)."""
    Branch.objects.bulk_create(
        [Branch(repository=repository, name=name, first_seen_at=at, deleted_at=at)], ignore_conflicts=True
    )
    Branch.objects.filter(Q(deleted_at__isnull=True) | Q(deleted_at__lt=at), repository=repository, name=name).update(
        deleted_at=at
    )


# -- tags -------------------------------------------------------------------------------------------------------
def ingest_tag_created(repository: Repository, *, name: str, at: datetime | None, sha: str = "") -> None:
    """A tag was created or pushed at `at` (a `create` event has no sha; a tag `push` has it). Its creation time
    only moves earlier, its last push later; a sha is taken from the newest push only, and never blanked."""
    Tag.objects.bulk_create(
        [Tag(repository=repository, name=name, sha=sha, created_at=at, last_pushed_at=at)], ignore_conflicts=True
    )
    tag = Tag.objects.filter(repository=repository, name=name)
    if at is None:
        if sha:
            tag.filter(sha="").update(sha=sha)
        return
    if sha:
        tag.filter(Q(last_pushed_at__isnull=True) | Q(last_pushed_at__lte=at)).exclude(sha=sha).update(sha=sha)
    tag.filter(Q(last_pushed_at__isnull=True) | Q(last_pushed_at__lt=at)).update(last_pushed_at=at)
    tag.filter(Q(created_at__isnull=True) | Q(created_at__gt=at)).update(created_at=at)


def ingest_tag_deleted(repository: Repository, *, name: str, at: datetime) -> None:
    """A tag was deleted at `at`: kept, marked, so a late copy of its creation cannot bring it back."""
    Tag.objects.bulk_create([Tag(repository=repository, name=name, deleted_at=at)], ignore_conflicts=True)
    Tag.objects.filter(Q(deleted_at__isnull=True) | Q(deleted_at__lt=at), repository=repository, name=name).update(
        deleted_at=at
    )


# -- the commits of a push ------------------------------------------------------------------------------------------
def ingest_push_commits(repository: Repository, commits: Sequence[dict[str, Any]]) -> IngestResult:
    """A push's commits (`id`, `message`, `timestamp`, `author.username`...). They carry no parents, so they are
    only inserted when new; the commit list of the API (which has the parents) is what updates them."""
    result = IngestResult()
    logins = {(c.get("author") or {}).get("username") for c in commits} - {None, ""}
    authors = dict(Developer.objects.filter(login__in=logins).values_list("login", "pk"))
    rows: list[Commit] = []
    for c in commits:
        try:
            author = c.get("author") or {}
            at = parse_time(c.get("timestamp"))
            rows.append(
                Commit(
                    repository=repository,
                    sha=c["id"],
                    message=c.get("message") or "",
                    author_id=authors.get(author.get("username") or ""),
                    author_name=(author.get("name") or "")[:200],
                    author_email=(author.get("email") or "")[:254],
                    authored_at=at,
                    committed_at=at,
                    html_url=c.get("url") or "",
                )
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            result.skip_malformed(f"{repository} pushed commit", c, f"{exc.__class__.__name__}: {exc}")
    known = set(
        Commit.objects.filter(repository=repository, sha__in=[r.sha for r in rows]).values_list("sha", flat=True)
    )
    Commit.objects.bulk_create([r for r in rows if r.sha not in known], ignore_conflicts=True)
    result.created = len({r.sha for r in rows} - known)
    result.unchanged = len(rows) - result.created
    return result
