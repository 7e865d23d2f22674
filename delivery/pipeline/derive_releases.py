"""The releases of a repository's derivation (pipeline.derive): one per successful production deployment, in the
order they succeeded, each bringing the changes after the previous one's position up to its own. All of them
(`releases_derive`), or only the ones that succeeded since the last derivation (`releases_append`)."""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict
from typing import Any

from django.db.models import Exists, Min, OuterRef, Q

from delivery.github.ingest import upsert_rows
from delivery.github.models import Commit, DeploymentStatus, Repository, Tag
from delivery.pipeline.models import Change, Release, ReleaseChange


def releases_derive(
    repository: Repository,
    positions: Any,
    successes: list[dict[str, Any]],
    tags: list[dict[str, Any]],
) -> tuple[int, int]:
    """One release per successful production deployment, in the order they succeeded; each brings the changes
    after the previous one's position up to its own. A deployment behind the previous one is a rollback and
    brings none."""
    tags_by_sha: dict[str, str] = {}
    for tag in tags:
        if tag["name"] > tags_by_sha.get(tag["sha"], ""):
            tags_by_sha[tag["sha"]] = tag["name"]
    changes_by_position = defaultdict(list)
    for change_id, sha, author_id in Change.objects.filter(repository=repository, commit__isnull=False).values_list(
        "pk", "commit__sha", "author_id"
    ):
        position = positions.of(sha)
        if position is not None:
            changes_by_position[position].append((change_id, author_id))
    ordered_positions = sorted(changes_by_position)

    rows, brought = [], {}
    live_position: int | None = None
    for success in successes:
        position = positions.of(success["deployment__sha"])
        rolled_back = success["deployment__is_rollback"] or (
            position is not None and live_position is not None and position < live_position
        )
        changes: list[tuple[int, int | None]] = []
        if position is not None and not rolled_back:
            lo = bisect.bisect_right(ordered_positions, live_position if live_position is not None else -1)
            hi = bisect.bisect_right(ordered_positions, position)
            changes = [c for p in ordered_positions[lo:hi] for c in changes_by_position[p]]
        if position is not None:
            live_position = position
        brought[success["deployment_id"]] = changes
        rows.append(_release_row(repository, success, tags_by_sha, rolled_back))
    result = upsert_rows(Release, rows, key=["deployment_id"], insert_only=["state"])
    release_ids = result.ids
    # The chain of releases, in the order they went live; only links that changed are written.
    chain = [release_ids[row["deployment_id"]] for row in rows]
    wanted_previous = dict(zip(chain, [None, *chain[:-1]][: len(chain)], strict=True))
    stored_previous = dict(Release.objects.filter(pk__in=chain).values_list("pk", "previous_release_id"))
    for release_id, previous_id in wanted_previous.items():
        if stored_previous.get(release_id) != previous_id:
            Release.objects.filter(pk=release_id).update(previous_release_id=previous_id)
    _release_links(release_ids, brought)
    return len(rows), result.created + result.updated


def _release_links(release_ids: dict[Any, int], brought: dict[int, list[tuple[int, int | None]]]) -> None:
    """Make ReleaseChange rows and owners match what each release brought (only the differences are written)."""
    wanted = {(release_ids[d], change_id) for d, changes in brought.items() for change_id, _ in changes}
    existing = set(
        ReleaseChange.objects.filter(release_id__in=release_ids.values()).values_list("release_id", "change_id")
    )
    ReleaseChange.objects.bulk_create(
        [ReleaseChange(release_id=r, change_id=c) for r, c in wanted - existing], ignore_conflicts=True
    )
    stale = existing - wanted
    if stale:
        q = Q()
        for release_id, change_id in stale:
            q |= Q(release_id=release_id, change_id=change_id)
        ReleaseChange.objects.filter(q).delete()
    owners = Release.owners.through
    wanted_owners = {
        (release_ids[d], author_id) for d, changes in brought.items() for _, author_id in changes if author_id
    }
    existing_owners = set(
        owners.objects.filter(release_id__in=release_ids.values()).values_list("release_id", "developer_id")
    )
    owners.objects.bulk_create(
        [owners(release_id=r, developer_id=d) for r, d in wanted_owners - existing_owners], ignore_conflicts=True
    )
    for release_id, developer_id in existing_owners - wanted_owners:
        owners.objects.filter(release_id=release_id, developer_id=developer_id).delete()


def releases_append(
    repository: Repository, *, deployment_ids: set[int], tag_shas: set[str], change_ids: set[int]
) -> tuple[int, int] | None:
    """The releases of production successes among these deployments that came after the last release (the usual
    case: a deploy just succeeded), chained after it; the tag names of releases at these shas. None when that is not
    enough (a success older than the last release, a release whose deployment changed, a change in production that
    no release brought): the caller derives every release."""
    environment = repository.production_environment
    successes = list(
        DeploymentStatus.objects.filter(
            deployment_id__in=deployment_ids, deployment__environment=environment, state="success"
        )
        .values("deployment_id", "deployment__sha", "deployment__is_rollback")
        .annotate(at=Min("created_at"))
        .order_by("at", "deployment_id")
    )
    stored = {
        d: (at, sha)
        for d, at, sha in Release.objects.filter(deployment_id__in=[s["deployment_id"] for s in successes]).values_list(
            "deployment_id", "deployed_at", "sha"
        )
    }
    if any(
        stored[s["deployment_id"]] != (s["at"], s["deployment__sha"]) for s in successes if s["deployment_id"] in stored
    ):
        return None
    fresh = [s for s in successes if s["deployment_id"] not in stored]
    tail = list(
        Release.objects.filter(repository=repository, environment=environment)
        .order_by("-deployed_at", "-deployment_id")
        .values_list("pk", "deployment_id", "deployed_at", "sha")[:20]
    )
    if fresh and tail and (fresh[0]["at"], fresh[0]["deployment_id"]) <= (tail[0][2], tail[0][1]):
        return None
    shas = {s["deployment__sha"] for s in fresh} | {sha for *_, sha in tail}
    positions = dict(
        Commit.objects.filter(repository=repository, sha__in=shas, main_position__isnull=False).values_list(
            "sha", "main_position"
        )
    )
    placed = [positions[sha] for *_, sha in tail if sha in positions]
    if fresh and tail and not placed:
        return None
    live_position = placed[0] if placed else None
    rows, brought = [], {}
    for success in fresh:
        position = positions.get(success["deployment__sha"])
        rolled_back = success["deployment__is_rollback"] or (
            position is not None and live_position is not None and position < live_position
        )
        changes: list[tuple[int, int | None]] = []
        if position is not None and not rolled_back:
            changes = list(
                Change.objects.filter(
                    repository=repository,
                    commit__main_position__gt=live_position if live_position is not None else -1,
                    commit__main_position__lte=position,
                ).values_list("pk", "author_id")
            )
        if position is not None:
            live_position = position
        brought[success["deployment_id"]] = changes
        rows.append(
            _release_row(repository, success, _tag_names(repository, {success["deployment__sha"]}), rolled_back)
        )
    written = 0
    if rows:
        result = upsert_rows(Release, rows, key=["deployment_id"], insert_only=["state"])
        written = result.created + result.updated
        chain = [t[0] for t in tail[:1]] + [result.ids[row["deployment_id"]] for row in rows]
        for previous_id, release_id in itertools.pairwise(chain):
            Release.objects.filter(pk=release_id).update(previous_release_id=previous_id)
        _release_links(result.ids, brought)
    for sha, name in _tag_names(repository, tag_shas).items():
        Release.objects.filter(repository=repository, sha=sha).exclude(tag_name=name).update(tag_name=name)
    unreleased = Change.objects.filter(pk__in=change_ids, production_at__isnull=False).exclude(
        Exists(ReleaseChange.objects.filter(change_id=OuterRef("pk")))
    )
    return None if unreleased.exists() else (len(rows), written)


def _tag_names(repository: Repository, shas: set[str]) -> dict[str, str]:
    """The release tag of each sha (the highest name of its live release tags; "" without one)."""
    names = dict.fromkeys(shas, "")
    for name, sha in Tag.objects.alive().filter(repository=repository, sha__in=shas).values_list("name", "sha"):
        if repository.is_release_tag(name) and name > names[sha]:
            names[sha] = name
    return names


def _release_row(
    repository: Repository, success: dict[str, Any], tags_by_sha: dict[str, str], rolled_back: bool
) -> dict[str, Any]:
    return {
        "repository_id": repository.pk,
        "deployment_id": success["deployment_id"],
        "environment": repository.production_environment,
        "sha": success["deployment__sha"],
        "tag_name": tags_by_sha.get(success["deployment__sha"], ""),
        "state": Release.State.SUCCEEDED,
        "deployed_at": success["at"],
        "is_rollback": bool(rolled_back),
    }
