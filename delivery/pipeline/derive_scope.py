"""What an incremental derivation reads again: the pull requests a sync or a webhook touched since the last
derivation, the changes still in flight (time moves their checks), and the changes an event at a position on the
main line may move (a deployment or a tag contains every commit at or before its position). History already final
is not re-read.

"Touched" is read from the mirror itself, so neither the sync nor the webhooks tell the derivation anything:
- rows written since: ids above the highest ids of the last derivation's start (`DeriveMark`). A row is numbered
  when it is written but seen when its transaction commits, so the base is the newest mark at least SETTLE old
  (a mirror transaction lasts seconds), not the last one: the few minutes in between are read again;
- rows updated since (a pull request merged, closed, reopened): in flight, or GitHub's `updated_at` at most
  LOOKBACK before the base (a webhook delivered late, a sync catching up);
- the settings the derivation depends on: changed, everything is derived again.

What this cannot see is left to `manage.py derive --all`: an update older than LOOKBACK to a final change (a title
edited on a change merged long ago, arriving after an outage longer than LOOKBACK), a tag's sha filled in by a sync
long after its creation, a main line renumbered."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.dateparse import parse_datetime

from delivery.github.models import (
    Branch,
    Commit,
    Deployment,
    DeploymentStatus,
    PullRequest,
    PullRequestCommit,
    Repository,
    Review,
    Tag,
)
from delivery.pipeline.checks import BRANCH_DELETION_GRACE
from delivery.pipeline.models import Change, DeriveMark, Stage

SETTLE = timedelta(minutes=10)
LOOKBACK = timedelta(hours=1)
MOST = 5_000
"""More pull requests than this in scope (a first sync's backfill): derive everything, it is cheaper."""

IN_FLIGHT = [Stage.IN_PROGRESS, Stage.IN_REVIEW, Stage.MERGED, Stage.ON_STAGING, Stage.TAGGED, Stage.IN_PRODUCTION]
_MARKED: dict[str, Any] = {
    "pull_request": PullRequest,
    "review": Review,
    "pr_commit": PullRequestCommit,
    "deployment": Deployment,
    "status": DeploymentStatus,
    "commit": Commit,
    "tag": Tag,
    "branch": Branch,
}
_SETTINGS = [
    "default_branch",
    "preview_environment_pattern",
    "staging_environment",
    "production_environment",
    "tag_pattern",
    "monitoring_window_minutes",
    "monitoring_grace_minutes",
    "branch_age_limit_hours",
    "required_approvals",
    "staging_stuck_minutes",
    "tag_stuck_minutes",
    "production_stuck_minutes",
    "clickup_task_required",
]


@dataclass
class Scope:
    """What to derive again: these pull requests' changes, and the releases of these deployments."""

    pull_request_ids: set[int] = field(default_factory=set)
    deployment_ids: set[int] = field(default_factory=set)
    tag_shas: set[str] = field(default_factory=set)


def mirror_mark(repository: Repository, now: datetime) -> dict[str, Any]:
    """The mirror's highest ids and the repository's top main-line position, read before the derivation reads."""
    highest = {name: Subquery(model.objects.order_by("-pk").values("pk")[:1]) for name, model in _MARKED.items()}
    top = Commit.objects.filter(repository=OuterRef("pk"), main_position__isnull=False).order_by("-main_position")
    row = (
        Repository.objects.filter(pk=repository.pk)
        .values_list(*(Coalesce(q, -1) for q in [*highest.values(), Subquery(top.values("main_position")[:1])]))
        .get()
    )
    return {"at": now.isoformat(), "ids": dict(zip(highest, row, strict=False)), "top": row[-1]}


def derive_mark_save(repository: Repository, mark: dict[str, Any], now: datetime) -> None:
    """Keep this derivation's mark, with the ones still younger than SETTLE and the newest older one (the base)."""
    stored = DeriveMark.objects.filter(repository=repository).first()
    kept = _kept(stored.snapshots if stored else [], now)
    DeriveMark.objects.update_or_create(
        repository=repository, defaults={"settings": _settings(repository), "snapshots": [*kept, mark]}
    )


def _kept(snapshots: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    settled = [s for s in snapshots if _at(s) <= now - SETTLE]
    return [*settled[-1:], *(s for s in snapshots if _at(s) > now - SETTLE)]


def _at(snapshot: dict[str, Any]) -> datetime:
    at = parse_datetime(snapshot["at"])
    assert at is not None
    return at


def _settings(repository: Repository) -> str:
    return json.dumps([getattr(repository, name) for name in _SETTINGS], default=str)


def derive_scope(repository: Repository, now: datetime) -> Scope | None:
    """What changed since the base mark; None: derive everything (never derived, settings changed, too much)."""
    stored = DeriveMark.objects.filter(repository=repository).first()
    if stored is None or not stored.snapshots or stored.settings != _settings(repository):
        return None
    kept = _kept(stored.snapshots, now)
    base = kept[0]
    ids, since = base["ids"], _at(base) - LOOKBACK
    scope = Scope()
    prs = PullRequest.objects.filter(repository=repository)
    scope.pull_request_ids = set(
        prs.filter(
            Q(pk__gt=ids["pull_request"])
            | Q(state=PullRequest.State.OPEN, updated_at__gte=since)
            | Q(state=PullRequest.State.CLOSED, updated_at__gte=since)
        ).values_list("pk", flat=True)
    )
    for model, name in ((Review, "review"), (PullRequestCommit, "pr_commit")):
        scope.pull_request_ids |= set(
            model.objects.filter(pk__gt=ids[name], pull_request__repository=repository).values_list(
                "pull_request_id", flat=True
            )
        )
    changes = Change.objects.filter(repository=repository, pull_request__isnull=False)
    scope.pull_request_ids |= set(changes.filter(stage__in=IN_FLIGHT).values_list("pull_request_id", flat=True))
    # The branch check moves a day after the merge: changes done but merged within a day of the base.
    recent = since - BRANCH_DELETION_GRACE
    scope.pull_request_ids |= set(
        changes.filter(stage=Stage.DONE, production_at__gte=recent, merged_at__gte=recent).values_list(
            "pull_request_id", flat=True
        )
    )
    placed = Commit.objects.filter(repository=repository).filter(
        Q(pk__gt=ids["commit"]) | Q(main_position__gt=base["top"])
    )
    scope.pull_request_ids |= set(prs.filter(merge_commit_sha__in=placed.values("sha")).values_list("pk", flat=True))
    _deployments(repository, scope, ids, placed)
    _tags(repository, scope, ids, since)
    _branches(repository, scope, ids, since)
    return scope if len(scope.pull_request_ids) <= MOST else None


def _deployments(repository: Repository, scope: Scope, ids: dict[str, int], placed: Any) -> None:
    """Deployments written since (or newly contained by a placed commit): a staging or production success moves the
    changes it contains that it reached first; a preview, the pull requests of its branch or sha."""
    touched = list(
        Deployment.objects.filter(repository=repository)
        .filter(
            Q(pk__gt=ids["deployment"])
            | Q(pk__in=DeploymentStatus.objects.filter(pk__gt=ids["status"]).values("deployment_id"))
            | Q(sha__in=placed.values("sha"))
        )
        .values_list("pk", "environment", "sha", "ref")
    )
    scope.deployment_ids = {pk for pk, *_ in touched}
    kinds = {repository.staging_environment: "staging_at", repository.production_environment: "production_at"}
    successes = dict(
        DeploymentStatus.objects.filter(deployment_id__in=scope.deployment_ids, state="success")
        .values("deployment_id")
        .annotate(at=Min("created_at"))
        .values_list("deployment_id", "at")
    )
    events = [(kinds[env], sha, successes[pk]) for pk, env, sha, _ in touched if env in kinds and pk in successes]
    _moved(repository, scope, events)
    previews = [(ref, sha) for _, env, sha, ref in touched if repository.environment_kind(env) == "preview"]
    if previews:
        scope.pull_request_ids |= set(
            PullRequest.objects.filter(repository=repository)
            .filter(Q(head_ref__in={r for r, _ in previews if r}) | Q(head_sha__in={s for _, s in previews}))
            .values_list("pk", flat=True)
        )


def _tags(repository: Repository, scope: Scope, ids: dict[str, int], since: datetime) -> None:
    """Release tags created, pushed or deleted since: the changes they contain that they may have tagged first."""
    tags = [
        t
        for t in Tag.objects.filter(repository=repository)
        .filter(
            Q(pk__gt=ids["tag"]) | Q(created_at__gte=since) | Q(last_pushed_at__gte=since) | Q(deleted_at__gte=since)
        )
        .exclude(sha="")
        .values("name", "sha", "created_at", "first_seen_at")
        if repository.is_release_tag(t["name"])
    ]
    scope.tag_shas = {t["sha"] for t in tags}
    first_deployed = dict(
        Deployment.objects.filter(repository=repository, ref__in=[t["name"] for t in tags])
        .values("ref")
        .annotate(at=Min("created_at"))
        .values_list("ref", "at")
    )
    events = []
    for t in tags:
        times = [x for x in (t["created_at"], first_deployed.get(t["name"]), t["first_seen_at"]) if x is not None]
        if times:
            events.append(("tagged_at", t["sha"], min(times)))
    _moved(repository, scope, events)


def _moved(repository: Repository, scope: Scope, events: list[tuple[str, str, datetime]]) -> None:
    """An event (field, sha, time) reaches every change at or before its sha's position: those it reached first
    (the field empty, or not earlier than the event) are derived again."""
    if not events:
        return
    positions = dict(
        Commit.objects.filter(
            repository=repository, sha__in={sha for _, sha, _ in events}, main_position__isnull=False
        ).values_list("sha", "main_position")
    )
    reach: dict[str, tuple[int, datetime]] = {}  # per field: the furthest position, the earliest time
    for name, sha, at in events:
        placed = positions.get(sha)
        if placed is not None:
            position, earliest = reach.get(name, (placed, at))
            reach[name] = (max(position, placed), min(earliest, at))
    q = Q()
    for name, (position, at) in reach.items():
        q |= Q(commit__main_position__lte=position) & (Q(**{f"{name}__isnull": True}) | Q(**{f"{name}__gte": at}))
    if q:
        scope.pull_request_ids |= set(
            Change.objects.filter(repository=repository, pull_request__isnull=False)
            .filter(q)
            .values_list("pull_request_id", flat=True)
        )


def _branches(repository: Repository, scope: Scope, ids: dict[str, int], since: datetime) -> None:
    """Branches seen or deleted since: the pull requests of that branch (the branch check of merged ones)."""
    names = set(
        Branch.objects.filter(repository=repository)
        .filter(Q(pk__gt=ids["branch"]) | Q(deleted_at__gte=since))
        .values_list("name", flat=True)
    )
    if names:
        scope.pull_request_ids |= set(
            PullRequest.objects.filter(repository=repository, head_ref__in=names).values_list("pk", flat=True)
        )
