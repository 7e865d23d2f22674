"""Reads for the pipeline board: a fixed number of queries whatever the amount of data."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from delivery.accounts.models import Developer
from delivery.clickup.client import configured as clickup_configured
from delivery.core.filters import filter_misses
from delivery.core.links import page_url
from delivery.core.templatetags.trunkline import ago_text
from delivery.github.models import Branch, Commit, Deployment, Repository, Tag
from delivery.pipeline.check_results import change_check_results
from delivery.pipeline.checks import CHECKS
from delivery.pipeline.models import Change, Release, Stage, TaskLink
from delivery.pipeline.task_links import task_started

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

BOARD_COLUMNS: list[tuple[str, str]] = [
    (Stage.IN_PROGRESS, "In progress"),
    (Stage.IN_REVIEW, "In review"),
    (Stage.MERGED, "Merged"),
    (Stage.ON_STAGING, "On staging"),
    (Stage.TAGGED, "Tagged"),
    (Stage.IN_PRODUCTION, "In production"),
    (Stage.DONE, "Done (24 h)"),
]
DONE_FOR = timedelta(hours=24)
CARDS_PER_COLUMN = 25  # a column is read at a glance; the rest is a filter away
BOARD_ORDER = ["production_at", "tagged_at", "staging_at", "merged_at", "pr_opened_at", "pk"]
"""Cards newest first: by the latest stage each reached."""


@dataclass
class BoardColumn:
    stage: str
    title: str
    changes: list[Change] = field(default_factory=list)
    total: int = 0


def board_changes(*, now: datetime, repository: str = "", person: str = "") -> QuerySet[Change]:
    """Changes on the board: every one in flight, and those done in the last 24 hours."""
    in_flight = [stage for stage, _ in BOARD_COLUMNS if stage != Stage.DONE]
    # Two arms, each served by an index (stage; production_at), rather than a filter over every change ever done.
    # A done change always has its production time (it is done once its watch window after production ended).
    changes = (
        Change.objects.filter(Q(stage__in=in_flight) | Q(stage=Stage.DONE, production_at__gte=now - DONE_FOR))
        .select_related("repository", "author", "next_owner", "pull_request")
        .only(
            "title",
            "stage",
            "failed_checks",
            "preview_url",
            "next_action",
            "first_commit_at",
            "pr_opened_at",
            "merged_at",
            "staging_at",
            "tagged_at",
            "production_at",
            "repository__full_name",
            "repository__name",
            "repository__monitoring_window_minutes",
            "author__login",
            "author__avatar_url",
            "next_owner__login",
            "pull_request__number",
            "pull_request__html_url",
        )
    )
    if repository:
        changes = changes.filter(repository__full_name=repository)
    if person:
        changes = changes.filter(Q(author__login=person) | Q(next_owner__login=person))
    return changes


def board_columns(*, now: datetime, repository: str = "", person: str = "") -> list[BoardColumn]:
    """The board's columns, each its newest cards first (at most CARDS_PER_COLUMN) and its total. One query: window
    functions number the cards of each column and count them, so only the cards shown are read."""
    columns = {stage: BoardColumn(stage, title) for stage, title in BOARD_COLUMNS}
    newest_first = [F(name).desc() for name in BOARD_ORDER]
    cards = (
        board_changes(now=now, repository=repository, person=person)
        .annotate(
            column_rank=Window(RowNumber(), partition_by=F("stage"), order_by=newest_first),
            column_total=Window(Count("pk"), partition_by=F("stage")),
        )
        .filter(column_rank__lte=CARDS_PER_COLUMN)
        .order_by(*newest_first)
        .prefetch_related(task_links_prefetch())
    )
    configured = clickup_configured()
    for change in cards:
        column = columns[change.stage]
        column.total = change.column_total
        _card_prepare(change, now)
        change.tasks_html = task_links_compact_html(
            task_links_prepare(change.task_links.all(), configured=configured, now=now)
        )
        column.changes.append(change)
    return list(columns.values())


BAD_CHECKS = {"production_failed", "review_breach"}


def task_links_prefetch() -> Prefetch[Any]:
    """The ClickUp tasks of a page of changes: one query whatever their number."""
    fields = [
        "change_id",
        "clickup_task_id",
        "custom",
        "position",
        "name",
        "status",
        "url",
        "assignee_names",
        "fetch_state",
    ]
    return Prefetch("task_links", queryset=TaskLink.objects.only(*fields, "fetched_at").order_by("position"))


def task_links_prepare(links: Iterable[TaskLink], *, configured: bool, now: datetime) -> list[TaskLink]:
    """The links as a page shows them, each with what to say beside it (not found, not reachable, not configured)."""
    prepared = list(links)
    for link in prepared:
        link.note = link.note_for(configured=configured, now=now)
    return prepared


def task_links_compact_html(links: list[TaskLink]) -> SafeString:
    """A card's tasks as templates/pipeline/_task_links.html writes them (compact), built here: an include per card was
    a good part of the board's time and of the objects its garbage collections chase."""
    if not links:
        return SafeString("")
    items = format_html_join(
        "",
        '<li class="task-link"><a class="task-id" href="{}">{}</a>{}{}{}{}</li>',
        (
            (
                link.url,
                link.label,
                format_html(' <span class="task-name" title="{}">{}</span>', link.name, link.name) if link.name else "",
                format_html(' <span class="task-status">{}</span>', link.status) if link.status else "",
                format_html(
                    ' <span class="task-assignees"><span class="sr-only">assigned to </span>{}</span>',
                    link.assignee_names,
                )
                if link.assignee_names
                else "",
                format_html(' <span class="task-note">{}</span>', link.note) if link.note else "",
            )
            for link in links
        ),
    )
    return format_html('<ul class="task-links task-links-compact" aria-label="ClickUp tasks">{}</ul>', items)


def _card_prepare(change: Change, now: datetime) -> None:
    """What a card shows, worked out in Python: the template only prints it (it is the board's main cost)."""
    change.check_labels = [(name, CHECKS[name]) for name in change.failed_checks if name in CHECKS]
    change.check_badges = [
        (label, "badge-bad" if name in BAD_CHECKS else "badge-warn") for name, label in change.check_labels
    ]
    change.url = page_url("change", change.pk)
    change.author_url = page_url("person", change.author.login) if change.author else ""
    since = change.production_at or change.tagged_at or change.staging_at or change.merged_at or change.first_commit_at
    change.since = since
    if since is not None:
        local = timezone.localtime(since)
        change.since_iso = since.isoformat()
        change.since_title = local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "")
        change.since_text = ago_text(since, now)
    change.window_ends = (
        change.production_at + timedelta(minutes=change.repository.monitoring_window_minutes)
        if change.stage == Stage.IN_PRODUCTION and change.production_at
        else None
    )


def board_filter_choices() -> dict[str, list[str]]:
    return {
        "repository": list(
            Repository.objects.filter(is_active=True).order_by("full_name").values_list("full_name", flat=True)
        ),
        "person": list(
            Developer.objects.filter(
                Q(pk__in=Change.objects.exclude(stage=Stage.CLOSED).values("author_id"))
                | Q(pk__in=Change.objects.exclude(stage=Stage.CLOSED).values("next_owner_id"))
            )
            .order_by("login")
            .values_list("login", flat=True)
        ),
    }


def board_empty_reason(*, repository: str, person: str) -> dict[str, Any]:
    """Why a board shows no card (asked only then): filters naming nothing ("No repository acme/nope"), filters
    that match nothing now, or no change at all yet (the first run)."""
    known = {
        "repository": Repository.objects.filter(full_name=repository, is_active=True).values_list(
            "full_name", flat=True
        )
        if repository
        else [],
        "person": Developer.objects.filter(login=person).values_list("login", flat=True) if person else [],
    }
    misses = filter_misses({"repository": repository, "person": person}, {k: list(v) for k, v in known.items()})
    return {
        "misses": misses,
        "filtered": bool(repository or person),
        "first_run": not (repository or person) and not Change.objects.exists(),
    }


# -- one change ---------------------------------------------------------------------------------------------------
@dataclass
class TimelineStep:
    label: str
    at: datetime | None
    since_previous: timedelta | None = None


def change_detail(*, change_id: int) -> dict[str, Any]:
    """Everything the change page shows, in a fixed number of queries."""
    branch = Branch.objects.filter(repository=OuterRef("repository"), name=OuterRef("pull_request__head_ref"))
    change = (
        Change.objects.select_related("repository", "author", "next_owner", "pull_request", "commit")
        .annotate(
            branch_seen=Exists(branch),
            branch_deleted_at=Subquery(branch.values("deleted_at")[:1]),
            branch_pushed_at=Subquery(branch.values("head_updated_at")[:1]),
        )
        .get(pk=change_id)
    )
    repository, pr = change.repository, change.pull_request
    steps = [
        TimelineStep("First commit", change.first_commit_at),
        TimelineStep("Pull request opened", change.pr_opened_at),
        TimelineStep("Ready for review", change.ready_at),
        TimelineStep("First review", change.first_review_at),
        TimelineStep("Approved", change.approved_at),
        TimelineStep("Merged", change.merged_at),
        TimelineStep("On staging", change.staging_at),
        TimelineStep("Tagged", change.tagged_at),
        TimelineStep("In production", change.production_at),
    ]
    previous = None
    for step in steps:
        if step.at is not None:
            if previous is not None:
                step.since_previous = step.at - previous
            previous = step.at
    position = change.commit.main_position if change.commit else None
    containing = _containing_deployments(repository, position)
    preview_candidates = (
        Deployment.objects.filter(repository=repository).filter(Q(ref=pr.head_ref) | Q(sha=pr.head_sha))
        if pr is not None
        else Deployment.objects.none()
    )
    environments = [repository.staging_environment, repository.production_environment]
    previews = [d for d in preview_candidates.exclude(environment__in=environments).order_by("-created_at")[:20]]
    previews = [d for d in previews if repository.environment_kind(d.environment) == "preview"]
    links = task_links_prepare(
        change.task_links.order_by("position"), configured=clickup_configured(), now=timezone.now()
    )
    return {
        "change": change,
        "steps": steps,
        "checks": change_check_results(
            change,
            now=timezone.now(),
            branch_deleted=_branch_deleted(change),
            has_preview=bool(change.preview_url) or any(d.state in ("success", "inactive") for d in previews),
        ),
        "reviews": list(pr.reviews.select_related("author").order_by("submitted_at")) if pr else [],
        "commits": list(pr.pr_commits.select_related("author").order_by("authored_at")) if pr else [],
        "previews": previews,
        "deployments": containing,
        "tag": _first_tag(repository, position),
        "releases": list(change.releases.select_related("deployment").order_by("deployed_at")),
        "task_links": links,
        "task_start": task_started(links),
        "clickup_configured": clickup_configured(),
    }


class _BranchFacts(TypedDict):
    branch_seen: bool
    branch_deleted_at: datetime | None
    branch_pushed_at: datetime | None


def _branch_deleted(change: WithAnnotations[Change, _BranchFacts]) -> bool | None:
    """Whether the change's branch is deleted (None: no event about it seen), from change_detail's annotations."""
    if not change.branch_seen:
        return None
    return Branch(deleted_at=change.branch_deleted_at, head_updated_at=change.branch_pushed_at).is_deleted


def _position_of_sha() -> Subquery:
    return Subquery(
        Commit.objects.filter(repository=OuterRef("repository"), sha=OuterRef("sha")).values("main_position")[:1]
    )


def _containing_deployments(repository: Repository, position: int | None) -> list[Deployment]:
    """The first staging and production deployments containing the change, and any later ones (up to 20)."""
    if position is None:
        return []
    return list(
        Deployment.objects.filter(
            repository=repository,
            environment__in=[repository.staging_environment, repository.production_environment],
        )
        .annotate(position=_position_of_sha())
        .filter(position__gte=position)
        .order_by("created_at")[:20]
    )


def _first_tag(repository: Repository, position: int | None) -> Tag | None:
    if position is None:
        return None
    tags = (
        Tag.objects.alive()
        .filter(repository=repository)
        .exclude(sha="")
        .annotate(position=_position_of_sha())
        .filter(position__gte=position)
        .order_by("position", "name")
    )
    return next((t for t in tags[:50] if repository.is_release_tag(t.name)), None)


# -- one repository -----------------------------------------------------------------------------------------------
@dataclass
class EnvironmentView:
    name: str
    kind: str
    live: Deployment | None
    live_tag: str
    history: list[Deployment]


def repository_detail(*, repository_id: int, history: int = 15) -> dict[str, Any]:
    """What is live where, each environment's recent deployments, tags, changes in flight, the settings."""
    repository = Repository.objects.get(pk=repository_id)
    environments = []
    tags_by_sha: dict[str, str] = {}
    # Newest first by where they point on main (tag names sort as text: v1.20.9 after v1.20.30), then by date.
    position = Subquery(Commit.objects.filter(repository=repository, sha=OuterRef("sha")).values("main_position")[:1])
    tags = list(
        Tag.objects.alive()
        .filter(repository=repository)
        .exclude(sha="")
        .annotate(position=position)
        .order_by(F("position").desc(nulls_last=True), F("created_at").desc(nulls_last=True), "-name")[:20]
    )
    for tag in tags:
        if repository.is_release_tag(tag.name):
            tags_by_sha.setdefault(tag.sha, tag.name)
    for name, kind in ((repository.production_environment, "production"), (repository.staging_environment, "staging")):
        recent = list(
            Deployment.objects.filter(repository=repository, environment=name)
            .select_related("creator")
            .order_by("-created_at")[:history]
        )
        live = (
            Deployment.objects.filter(repository=repository, environment=name, statuses__state="success")
            .select_related("creator")
            .order_by("-created_at")
            .first()
        )
        releases = dict(
            Release.objects.filter(deployment__in=[d.pk for d in recent]).values_list("deployment_id", "pk")
        )
        for deployment in recent:
            deployment.release_id = releases.get(deployment.pk)  # type: ignore[attr-defined]  # for the template
        live_tag = tags_by_sha.get(live.sha, "") if live else ""
        if live and not live_tag:
            live_tag = live.ref if repository.is_release_tag(live.ref) else ""
        environments.append(EnvironmentView(name, kind, live, live_tag, recent))
    in_flight = list(
        Change.objects.filter(repository=repository)
        .exclude(stage__in=[Stage.DONE, Stage.CLOSED])
        .select_related("author", "pull_request")
        .order_by("-pr_opened_at")[:50]
    )
    return {"repository": repository, "environments": environments, "tags": tags, "in_flight": in_flight}


# -- one release --------------------------------------------------------------------------------------------------
def release_owner_ids(*, release: Release) -> set[int]:
    """The developers who own the release (authored one of its changes)."""
    return set(release.owners.values_list("pk", flat=True))


def release_detail(*, release_id: int) -> dict[str, Any]:
    release = Release.objects.select_related("repository", "deployment__creator", "previous_release").get(pk=release_id)
    changes = list(
        release.changes.select_related("author", "pull_request")
        .prefetch_related(task_links_prefetch())
        .order_by("merged_at")
    )
    configured, now = clickup_configured(), timezone.now()
    for change in changes:
        change.tasks_html = task_links_compact_html(
            task_links_prepare(change.task_links.all(), configured=configured, now=now)
        )
    return {
        "release": release,
        "changes": changes,
        "owners": list(release.owners.order_by("login")),
        "statuses": list(release.deployment.statuses.select_related("creator").order_by("created_at", "pk")),
        "next_release": Release.objects.filter(previous_release=release).only("pk", "tag_name", "sha").first(),
    }


def fix_candidates(*, release: Release, limit: int = 10) -> tuple[Release | None, list[Release]]:
    """The releases that could carry the fix of `release` (later releases of its repository, not rollbacks, oldest
    first) and the one proposed: the release that carries the fix already, else its owners' next release, else the
    next release."""
    later = list(
        Release.objects.filter(
            repository_id=release.repository_id,
            environment=release.environment,
            is_rollback=False,
            deployed_at__gt=release.deployed_at,
        ).order_by("deployed_at", "pk")[:limit]
    )
    linked = next((r for r in later if r.fix_for_id == release.pk), None)
    if linked is not None:
        return linked, later
    owners = set(release.owners.values_list("pk", flat=True))
    theirs = set(
        Release.owners.through.objects.filter(release__in=later, developer_id__in=owners).values_list(
            "release_id", flat=True
        )
    )
    proposal = next((r for r in later if r.pk in theirs), later[0] if later else None)
    return proposal, later
