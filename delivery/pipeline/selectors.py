"""Reads for the pipeline board: a fixed number of queries whatever the amount of data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet

from delivery.accounts.models import Developer
from delivery.github.models import Repository
from delivery.pipeline.checks import CHECKS
from delivery.pipeline.models import Change, Stage

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
CARDS_PER_COLUMN = 50


@dataclass
class BoardColumn:
    stage: str
    title: str
    changes: list[Change] = field(default_factory=list)
    total: int = 0


def board_changes(*, now: datetime, repository: str = "", person: str = "") -> QuerySet[Change]:
    """Changes on the board: every one in flight, and those done in the last 24 hours."""
    changes = (
        Change.objects.filter(stage__in=[stage for stage, _ in BOARD_COLUMNS])
        .exclude(stage=Stage.DONE, production_at__lt=now - DONE_FOR)
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
    """The board's columns, each its newest cards first (at most CARDS_PER_COLUMN) and its total. One query."""
    columns = {stage: BoardColumn(stage, title) for stage, title in BOARD_COLUMNS}
    ordered = board_changes(now=now, repository=repository, person=person).order_by(
        "-production_at", "-tagged_at", "-staging_at", "-merged_at", "-pr_opened_at", "-pk"
    )
    for change in ordered:
        column = columns[change.stage]
        column.total += 1
        if len(column.changes) < CARDS_PER_COLUMN:
            change.check_labels = [(name, CHECKS[name]) for name in change.failed_checks if name in CHECKS]
            column.changes.append(change)
    return list(columns.values())


def board_filter_choices() -> dict[str, list[str]]:
    return {
        "repository": list(
            Repository.objects.filter(is_active=True).order_by("full_name").values_list("full_name", flat=True)
        ),
        "person": list(
            Developer.objects.filter(pk__in=Change.objects.exclude(stage=Stage.CLOSED).values("author_id"))
            .order_by("login")
            .values_list("login", flat=True)
        ),
    }
