"""What the dashboard derives from the GitHub mirror: changes landing on main and production releases."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models

WATCH_OPENING_MARGIN = timedelta(hours=1)
"""Watches open for releases whose window and grace are still running, or ended within this margin (the worker was
down a while); an older release that never had one is history (read on a first sync): it gets none."""


def watch_history_age(repository: Any) -> timedelta:
    """How old a production release may be and still get a watch."""
    return (
        timedelta(minutes=repository.monitoring_window_minutes + repository.monitoring_grace_minutes)
        + WATCH_OPENING_MARGIN
    )


class Stage(models.TextChoices):
    """The columns of the pipeline board, in order."""

    IN_PROGRESS = "in_progress", "In progress"
    IN_REVIEW = "in_review", "In review"
    MERGED = "merged", "Merged"
    ON_STAGING = "on_staging", "On staging"
    TAGGED = "tagged", "Tagged"
    IN_PRODUCTION = "in_production", "In production"
    DONE = "done", "Done"
    CLOSED = "closed", "Closed unmerged"


class Change(models.Model):
    """One unit of work landing on main: for a squash merge, the PR and its single commit. Stage times are
    derived from the mirror (pipeline.derive) and stored so pages never recompute them."""

    repository = models.ForeignKey("gh.Repository", on_delete=models.CASCADE, related_name="changes")
    pull_request = models.OneToOneField(
        "gh.PullRequest", null=True, blank=True, on_delete=models.CASCADE, related_name="change"
    )
    commit = models.ForeignKey(
        "gh.Commit",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="changes",
        help_text="The commit that landed on main (the squash commit, or the merge commit).",
    )
    title = models.CharField(max_length=500)
    author = models.ForeignKey("accounts.Developer", null=True, blank=True, on_delete=models.SET_NULL)
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.IN_PROGRESS, db_index=True)
    next_owner = models.ForeignKey(
        "accounts.Developer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who must act next.",
    )
    next_action = models.CharField(max_length=200, blank=True)
    first_commit_at = models.DateTimeField(null=True, blank=True)
    pr_opened_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    first_review_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    merged_at = models.DateTimeField(null=True, blank=True)
    staging_at = models.DateTimeField(null=True, blank=True)
    tagged_at = models.DateTimeField(null=True, blank=True)
    production_at = models.DateTimeField(null=True, blank=True)
    signed_off_at = models.DateTimeField(null=True, blank=True)
    preview_url = models.URLField(max_length=500, blank=True, help_text="Its latest successful preview deployment.")
    failed_checks = models.JSONField(default=list, blank=True, help_text="Names of the process checks it fails.")
    derived_at = models.DateTimeField(null=True, blank=True)
    # Not stored: what a board card shows, worked out once by pipeline.selectors (the template only prints it).
    check_labels: list[tuple[str, str]]
    check_badges: list[tuple[str, str]]
    url: str
    author_url: str
    since: datetime | None
    since_iso: str
    since_title: str
    since_text: str
    window_ends: datetime | None
    tasks_html: str  # its ClickUp tasks, written once (pipeline.selectors.task_links_compact_html)

    class Meta:
        ordering = ["-merged_at", "-pr_opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "commit"],
                condition=models.Q(pull_request__isnull=True),
                name="change_direct_push_unique",
            )
        ]
        indexes = [
            models.Index(fields=["repository", "stage"], name="change_repo_stage"),
            models.Index(fields=["author", "stage"], name="change_author_stage"),
            models.Index(fields=["production_at"], name="change_production_at"),
        ]

    def __str__(self) -> str:
        return self.title


class Release(models.Model):
    """A production deployment and the changes it brought: commits on main after the previous successful
    production deployment, up to and including its sha. Its owners are the authors of those changes."""

    class State(models.TextChoices):
        DEPLOYING = "deploying", "Deploying"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        ROLLED_BACK = "rolled_back", "Rolled back"

    class Watch(models.TextChoices):
        PENDING = "", "Not known yet"
        NONE = "none", "No watch"
        OPEN = "open", "Being watched"
        DONE = "done", "Watched"

    repository = models.ForeignKey("gh.Repository", on_delete=models.CASCADE, related_name="releases")
    deployment = models.OneToOneField("gh.Deployment", on_delete=models.CASCADE, related_name="release")
    environment = models.CharField(max_length=255)
    sha = models.CharField(max_length=40)
    tag_name = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.DEPLOYING)
    deployed_at = models.DateTimeField(null=True, blank=True, help_text="When its deployment succeeded.")
    previous_release = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    is_rollback = models.BooleanField(default=False)
    fix_for = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="fixes",
        help_text="A fix-forward release names the release it repairs.",
    )
    failed = models.BooleanField(default=False, help_text="Counts as a failed release for the metrics.")
    failure_reason = models.CharField(max_length=300, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    failure_dismissed_at = models.DateTimeField(
        null=True, blank=True, help_text="An admin said its failure was a mistake: the metrics leave it out."
    )
    failure_dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    failure_dismissed_reason = models.CharField(max_length=300, blank=True)
    watch_state = models.CharField(
        max_length=10,
        choices=Watch.choices,
        blank=True,
        default=Watch.PENDING,
        help_text="Its owners' post-deploy watch, kept by the monitoring app: a change stays in production on the "
        "board until the watch of its release is done.",
    )
    watch_ended_at = models.DateTimeField(null=True, blank=True)
    changes: models.ManyToManyField[Change, ReleaseChange] = models.ManyToManyField(
        Change, through="ReleaseChange", related_name="releases"
    )
    owners = models.ManyToManyField("accounts.Developer", related_name="releases", blank=True)

    class Meta:
        ordering = ["-deployed_at"]
        indexes = [
            models.Index(fields=["repository", "environment", "-deployed_at"], name="release_repo_env_deployed"),
            models.Index(fields=["state"], name="release_state"),
        ]

    def __str__(self) -> str:
        return f"{self.repository} {self.tag_name or self.sha[:7]}"


def release_tags(releases: Iterable[Release]) -> str:
    """ "v1.4.1", "v1.4.1 and v1.4.2", "v1.4.0, v1.4.1 and v1.4.2": the releases by tag (or short sha), in order."""
    labels = [r.tag_name or r.sha[:7] for r in releases]
    return " and ".join([", ".join(labels[:-1]), labels[-1]]) if len(labels) > 1 else "".join(labels)


class ReleaseChange(models.Model):
    release = models.ForeignKey(Release, on_delete=models.CASCADE)
    change = models.ForeignKey(Change, on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release", "change"], name="release_change_unique")]

    def __str__(self) -> str:
        return f"{self.release_id}:{self.change_id}"


class DeriveMark(models.Model):
    """How far a repository's derivation has read the mirror (pipeline.derive_scope): the highest row ids of the
    mirror's tables at the start of each recent derivation, kept a while (a row is numbered when written but seen
    when its transaction commits), and the settings it derived with (changed settings: derive everything)."""

    repository = models.OneToOneField("gh.Repository", on_delete=models.CASCADE, related_name="+")
    settings = models.TextField(blank=True)
    snapshots = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"derived {self.repository_id}"


class TaskLink(models.Model):
    """A ClickUp task a change names (its branch name, PR title or body: delivery.clickup.references), with what
    ClickUp last said of it (pipeline.task_links refreshes it). `clickup_task_id` is the id as named: ClickUp's own
    or, `custom`, a custom id such as PRJ-123."""

    class Fetch(models.TextChoices):
        PENDING = "pending", "not read from ClickUp yet"
        FOUND = "found", "found"
        NOT_FOUND = "not_found", "not found in ClickUp"
        UNREACHABLE = "unreachable", "ClickUp not reachable"

    change = models.ForeignKey(Change, on_delete=models.CASCADE, related_name="task_links")
    clickup_task_id = models.CharField(max_length=50)
    custom = models.BooleanField(default=False)
    clickup_id = models.CharField(
        max_length=50, blank=True, help_text="ClickUp's own id (a custom id's is learned at its first read)."
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Its place among the change's tasks, as named.")
    name = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=100, blank=True)
    status_at = models.DateTimeField(
        null=True, blank=True, help_text="When the status shown was ClickUp's: an older delivery is not applied."
    )
    url = models.URLField(max_length=500, blank=True)
    criteria = models.JSONField(
        default=list, blank=True, help_text="Its acceptance criteria: checklist items, and its description's section."
    )
    assignee = models.ForeignKey("accounts.Developer", null=True, blank=True, on_delete=models.SET_NULL)
    assignee_names = models.CharField(
        max_length=300, blank=True, help_text="ClickUp's assignees, as ClickUp names them."
    )
    fetch_state = models.CharField(max_length=20, choices=Fetch.choices, default=Fetch.PENDING)
    fetched_at = models.DateTimeField(null=True, blank=True, help_text="When ClickUp last answered for it.")
    updated_at = models.DateTimeField(auto_now=True)
    # Not stored: what the page says beside it (pipeline.selectors.task_links_prepare).
    note: str

    class Meta:
        ordering = ["change", "position"]
        constraints = [models.UniqueConstraint(fields=["change", "clickup_task_id"], name="task_link_unique")]
        indexes = [
            models.Index(fields=["clickup_task_id"], name="task_link_task"),
            models.Index(fields=["clickup_id"], name="task_link_clickup_id"),
        ]

    def __str__(self) -> str:
        return self.clickup_task_id

    @property
    def label(self) -> str:
        """How people write it: a custom id as it is, ClickUp's own id as CU-…"""
        return self.clickup_task_id if self.custom else f"CU-{self.clickup_task_id}"

    def note_for(self, *, configured: bool, now: datetime) -> str:
        """What the page says of the task beside what was read, in words: why its name may be missing or old."""
        if not configured:
            return "ClickUp not configured"
        if self.fetch_state == self.Fetch.UNREACHABLE and self.fetched_at is not None:
            return f"ClickUp not reachable; as read {_ago(self.fetched_at, now)}"
        if self.fetch_state == self.Fetch.FOUND:
            return ""
        return self.get_fetch_state_display()


def _ago(when: datetime, now: datetime) -> str:
    minutes = max(0, int((now - when).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min ago"
    return f"{minutes // 60} h ago" if minutes < 48 * 60 else f"{minutes // 1440} days ago"
