"""Trunkline's mirror of GitHub: repositories and their delivery settings, and every object the sync and
the webhooks write. Each row is keyed on GitHub's own identity (an id, or a repository plus a sha or a
name) with a unique constraint, so the ingest layer can apply the same object any number of times."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q

from delivery.github.signal_settings import default_signal_queries

if TYPE_CHECKING:
    from delivery.accounts.models import Developer


def default_checklist() -> list[dict[str, object]]:
    """The post-deploy watch of the seed process, as the default monitoring checklist."""
    return [
        {"key": "works", "text": "Verify the change works in production"},
        {"key": "errors", "text": "Check the error tracker for new errors"},
        {"key": "watched", "text": "Watch logs and metrics for the whole window", "requires_full_window": True},
        {"key": "resolved", "text": "Resolve or escalate anything found"},
        {"key": "decision", "text": "Decide: keep, fix forward, or roll back"},
    ]


LINK_PLACEHOLDERS = ("repository", "sha", "short_sha", "tag", "start", "end", "start_ms", "end_ms")
"""What a repository's dashboard link templates (logs, metrics, errors) may name; the watch fills them in with
its releases and window, and the settings form refuses anything else."""


class Repository(models.Model):
    """A GitHub repository Trunkline follows, with its delivery settings (docs/design.md, "Domain")."""

    class RollbackMethod(models.TextChoices):
        WORKFLOW_DISPATCH = "workflow_dispatch", "Dispatch a rollback workflow"
        DEPLOYMENT = "deployment", "Create a deployment of the earlier tag"

    github_id = models.BigIntegerField(unique=True)
    owner = models.CharField(max_length=100)
    name = models.CharField(max_length=100)
    full_name = models.CharField(max_length=201, unique=True)
    description = models.TextField(blank=True)
    html_url = models.URLField(max_length=500, blank=True)
    default_branch = models.CharField(max_length=255, default="main")
    private = models.BooleanField(default=False)
    archived = models.BooleanField(default=False)
    pushed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True, help_text="Followed: synced and shown on the boards.")
    unavailable_reason = models.CharField(
        max_length=300, blank=True, help_text="Why the last sync could not read it (e.g. 404)."
    )
    gone_since = models.DateTimeField(
        null=True, blank=True, help_text="Since when GitHub no longer returns it (404, or not listed any more)."
    )
    gone_checked_at = models.DateTimeField(
        null=True, blank=True, help_text="When a gone repository was last asked for (once a day)."
    )
    # Delivery settings.
    preview_environment_pattern = models.CharField(max_length=100, default="pr-*")
    staging_environment = models.CharField(max_length=100, default="staging")
    production_environment = models.CharField(max_length=100, default="production")
    tag_pattern = models.CharField(max_length=100, default="v*")
    rollback_method = models.CharField(
        max_length=20, choices=RollbackMethod.choices, default=RollbackMethod.WORKFLOW_DISPATCH
    )
    rollback_workflow_file = models.CharField(max_length=200, default="rollback.yml", blank=True)
    rollback_workflow_input = models.CharField(max_length=100, default="tag", blank=True)
    monitoring_window_minutes = models.PositiveIntegerField(default=30)
    monitoring_grace_minutes = models.PositiveIntegerField(default=15)
    branch_age_limit_hours = models.PositiveIntegerField(default=48)
    required_approvals = models.PositiveSmallIntegerField(default=1)
    staging_stuck_minutes = models.PositiveIntegerField(default=60)
    tag_stuck_minutes = models.PositiveIntegerField(default=60)
    production_stuck_minutes = models.PositiveIntegerField(default=60)
    checklist_template = models.JSONField(default=default_checklist, blank=True)
    logs_url_template = models.CharField(max_length=500, blank=True)
    metrics_url_template = models.CharField(max_length=500, blank=True)
    errors_url_template = models.CharField(max_length=500, blank=True)
    slack_channel = models.CharField(max_length=100, blank=True)
    # Alertmanager's alerts that are this repository's (label matchers, github.label_matchers), and of those the
    # production ones (none: all of them).
    alert_matchers = models.CharField(max_length=500, blank=True)
    alert_production_matchers = models.CharField(max_length=500, blank=True)
    # Production signals the watch reads (github.signal_settings; the tokens come from the environment).
    prometheus_url = models.CharField(max_length=500, blank=True)
    signal_queries = models.JSONField(default=default_signal_queries, blank=True)
    sentry_organization = models.CharField(max_length=100, blank=True)
    sentry_project = models.CharField(max_length=20, blank=True)
    sentry_environment = models.CharField(max_length=100, blank=True)
    sentry_issue_events = models.PositiveIntegerField(default=10)
    clickup_task_required = models.BooleanField(
        default=False, help_text="A pull request must name its ClickUp task (the process check no_task)."
    )
    clickup_verified_status = models.CharField(
        max_length=100, blank=True, help_text="The ClickUp status a task moves to once its change is verified."
    )
    # Sync bookkeeping: a row-level lease so one sync runs per repository at a time (claimed with a
    # conditional UPDATE, renewed as the sync goes, see github.sync_lease).
    sync_lease_until = models.DateTimeField(null=True, blank=True)
    sync_lease_owner = models.CharField(max_length=40, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # Derivation bookkeeping (pipeline.services): a request sets `derive_pending` with a conditional UPDATE, so a
    # burst of webhooks queues one derivation, not one each.
    derive_pending = models.BooleanField(default=False)
    derived_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["full_name"]
        verbose_name_plural = "repositories"

    def __str__(self) -> str:
        return self.full_name

    def environment_kind(self, environment: str) -> str:
        """'production', 'staging', 'preview' or 'other', from this repository's settings."""
        if environment == self.production_environment:
            return "production"
        if environment == self.staging_environment:
            return "staging"
        if fnmatchcase(environment, self.preview_environment_pattern):
            return "preview"
        return "other"

    def is_release_tag(self, tag_name: str) -> bool:
        return fnmatchcase(tag_name, self.tag_pattern)


class Branch(models.Model):
    """A branch as seen by `create`/`delete` webhooks and branch listings; feeds the branch-age rule."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="branches")
    name = models.CharField(max_length=255)
    head_sha = models.CharField(max_length=40, blank=True)
    first_seen_at = models.DateTimeField()
    head_updated_at = models.DateTimeField(null=True, blank=True, help_text="Last push or creation seen.")
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["repository", "name"]
        constraints = [models.UniqueConstraint(fields=["repository", "name"], name="branch_unique_name")]
        indexes = [models.Index(fields=["repository", "deleted_at"], name="branch_repo_deleted")]
        verbose_name_plural = "branches"

    def __str__(self) -> str:
        return f"{self.repository}:{self.name}"

    @property
    def is_deleted(self) -> bool:
        """Deleted and not pushed to or re-created since (events may arrive in any order)."""
        return self.deleted_at is not None and (self.head_updated_at is None or self.deleted_at >= self.head_updated_at)


class Commit(models.Model):
    """A commit of a repository. `main_position` is its place on the default branch's first-parent line
    (0 = oldest known); a deployment of sha X contains every commit at or before X's position."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="commits")
    sha = models.CharField(max_length=40)
    message = models.TextField(blank=True)
    author = models.ForeignKey(
        "accounts.Developer", null=True, blank=True, on_delete=models.SET_NULL, related_name="commits"
    )
    author_name = models.CharField(max_length=200, blank=True)
    author_email = models.CharField(max_length=254, blank=True)
    authored_at = models.DateTimeField(null=True, blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)
    parent_shas = models.JSONField(default=list, blank=True)
    first_parent_sha = models.CharField(max_length=40, blank=True, db_index=True)
    main_position = models.PositiveIntegerField(null=True, blank=True)
    html_url = models.URLField(max_length=500, blank=True)

    class Meta:
        ordering = ["repository", "-main_position"]
        constraints = [models.UniqueConstraint(fields=["repository", "sha"], name="commit_unique_sha")]
        indexes = [models.Index(fields=["repository", "main_position"], name="commit_main_position")]

    def __str__(self) -> str:
        return f"{self.repository}@{self.sha[:7]}"

    @property
    def is_merge(self) -> bool:
        return len(self.parent_shas) > 1

    @property
    def title(self) -> str:
        return self.message.split("\n", 1)[0]


class PullRequest(models.Model):
    """A pull request; its reviews and own commits are synced whenever its `updated_at` moves."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    github_id = models.BigIntegerField(unique=True)
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="pull_requests")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=500)
    author = models.ForeignKey(
        "accounts.Developer", null=True, blank=True, on_delete=models.SET_NULL, related_name="pull_requests"
    )
    state = models.CharField(max_length=10, choices=State.choices)
    draft = models.BooleanField(default=False)
    html_url = models.URLField(max_length=500, blank=True)
    head_ref = models.CharField(max_length=255, blank=True)
    head_sha = models.CharField(max_length=40, blank=True)
    base_ref = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    ready_at = models.DateTimeField(null=True, blank=True, help_text="Marked ready for review (webhook).")
    closed_at = models.DateTimeField(null=True, blank=True)
    merged_at = models.DateTimeField(null=True, blank=True)
    merge_commit_sha = models.CharField(max_length=40, blank=True)
    merged_by = models.ForeignKey(
        "accounts.Developer", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_pull_requests"
    )
    additions = models.PositiveIntegerField(null=True, blank=True)
    deletions = models.PositiveIntegerField(null=True, blank=True)
    changed_files = models.PositiveIntegerField(null=True, blank=True)
    # The `updated_at` whose reviews and commits were fully synced; equal to `updated_at` means up to date.
    details_synced_for = models.DateTimeField(null=True, blank=True)
    # Who is asked to review it now (GitHub's `requested_reviewers` of its latest copy; empty once closed).
    requested_reviewers: models.ManyToManyField[Developer, ReviewRequest] = models.ManyToManyField(
        "accounts.Developer", through="ReviewRequest", related_name="review_requests", blank=True
    )

    class Meta:
        ordering = ["repository", "-number"]
        constraints = [models.UniqueConstraint(fields=["repository", "number"], name="pull_request_unique_number")]
        indexes = [
            models.Index(fields=["repository", "state", "-updated_at"], name="pr_repo_state_updated"),
            models.Index(fields=["author", "state"], name="pr_author_state"),
            models.Index(fields=["repository", "merge_commit_sha"], name="pr_merge_commit"),
            # The derivation finds the pull requests a branch or a preview deployment touched (pipeline.derive_scope).
            models.Index(fields=["repository", "head_ref"], name="pr_repo_head_ref"),
            models.Index(fields=["repository", "head_sha"], name="pr_repo_head_sha"),
        ]

    def __str__(self) -> str:
        return f"{self.repository}#{self.number}"

    @property
    def merged(self) -> bool:
        return self.merged_at is not None


class ReviewRequest(models.Model):
    pull_request = models.ForeignKey(PullRequest, on_delete=models.CASCADE, related_name="review_request_rows")
    reviewer = models.ForeignKey("accounts.Developer", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pull_request", "reviewer"], name="review_request_unique"),
        ]
        indexes = [models.Index(fields=["reviewer"], name="review_request_reviewer")]

    def __str__(self) -> str:
        return f"{self.reviewer} asked to review {self.pull_request}"


class PullRequestCommit(models.Model):
    """A commit of a pull request's own branch: gives the true first-commit time of a squash-merged change."""

    pull_request = models.ForeignKey(PullRequest, on_delete=models.CASCADE, related_name="pr_commits")
    sha = models.CharField(max_length=40)
    message = models.TextField(blank=True)
    author = models.ForeignKey("accounts.Developer", null=True, blank=True, on_delete=models.SET_NULL)
    authored_at = models.DateTimeField(null=True, blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pull_request", "authored_at"]
        constraints = [models.UniqueConstraint(fields=["pull_request", "sha"], name="pr_commit_unique_sha")]

    def __str__(self) -> str:
        return f"{self.pull_request}@{self.sha[:7]}"


class Review(models.Model):
    class State(models.TextChoices):
        APPROVED = "APPROVED", "Approved"
        CHANGES_REQUESTED = "CHANGES_REQUESTED", "Changes requested"
        COMMENTED = "COMMENTED", "Commented"
        DISMISSED = "DISMISSED", "Dismissed"
        PENDING = "PENDING", "Pending"

    github_id = models.BigIntegerField(unique=True)
    pull_request = models.ForeignKey(PullRequest, on_delete=models.CASCADE, related_name="reviews")
    author = models.ForeignKey(
        "accounts.Developer", null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews"
    )
    state = models.CharField(max_length=20, choices=State.choices)
    commit_sha = models.CharField(max_length=40, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    html_url = models.URLField(max_length=500, blank=True)

    class Meta:
        ordering = ["pull_request", "submitted_at"]
        indexes = [models.Index(fields=["author", "submitted_at"], name="review_author_submitted")]

    def __str__(self) -> str:
        return f"{self.pull_request} {self.state} by {self.author or 'ghost'}"


class TagQuerySet(models.QuerySet["Tag"]):
    def alive(self) -> TagQuerySet:
        """Tags not deleted since they were last created or pushed (webhooks may arrive in any order)."""
        return self.filter(Q(deleted_at__isnull=True) | Q(deleted_at__lt=models.F("last_pushed_at")))


class Tag(models.Model):
    """A git tag. GitHub's tag list gives no time: `created_at` is the best known moment (the `create`
    webhook, else when the sync first saw it)."""

    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=255)
    sha = models.CharField(max_length=40, blank=True, help_text="Blank until its push or the sync tells it.")
    created_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_pushed_at = models.DateTimeField(null=True, blank=True, help_text="Latest creation or push seen (webhooks).")
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="Latest deletion seen (webhooks).")

    objects = TagQuerySet.as_manager()

    class Meta:
        ordering = ["repository", "-created_at"]
        constraints = [models.UniqueConstraint(fields=["repository", "name"], name="tag_unique_name")]
        indexes = [models.Index(fields=["repository", "sha"], name="tag_repo_sha")]

    def __str__(self) -> str:
        return f"{self.repository}:{self.name}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None and (self.last_pushed_at is None or self.deleted_at >= self.last_pushed_at)


class Deployment(models.Model):
    """A GitHub deployment; `state` and `state_at` mirror its latest status."""

    github_id = models.BigIntegerField(unique=True)
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="deployments")
    environment = models.CharField(max_length=255)
    original_environment = models.CharField(max_length=255, blank=True)
    sha = models.CharField(max_length=40)
    ref = models.CharField(max_length=255, blank=True)
    task = models.CharField(max_length=100, default="deploy")
    description = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    creator = models.ForeignKey("accounts.Developer", null=True, blank=True, on_delete=models.SET_NULL)
    transient_environment = models.BooleanField(default=False)
    production_environment = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    state = models.CharField(max_length=20, blank=True, help_text="Latest status; blank while it has none.")
    state_at = models.DateTimeField(null=True, blank=True)
    environment_url = models.URLField(max_length=500, blank=True)
    log_url = models.URLField(max_length=500, blank=True)
    is_rollback = models.BooleanField(default=False)

    TERMINAL_STATES = ("success", "failure", "error", "inactive")

    class Meta:
        ordering = ["repository", "-created_at"]
        indexes = [
            models.Index(fields=["repository", "environment", "-created_at"], name="deployment_repo_env_created"),
            models.Index(fields=["repository", "sha"], name="deployment_repo_sha"),
            models.Index(fields=["state"], name="deployment_state"),
        ]

    def __str__(self) -> str:
        return f"{self.repository} → {self.environment} @{self.sha[:7]}"

    @property
    def is_finished(self) -> bool:
        return self.state in self.TERMINAL_STATES


class DeploymentStatus(models.Model):
    """Keyed on GitHub's global node id (GraphQL's `id`, REST's and webhooks' `node_id`): GraphQL gives a status no
    database id. `github_id` is REST's, kept where REST or a webhook gave it (rows from before node ids adopt
    theirs when GitHub is next read)."""

    github_id = models.BigIntegerField(unique=True, null=True, blank=True)
    node_id = models.CharField(max_length=100, null=True, blank=True, unique=True)  # null: stored before node ids
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="statuses")
    state = models.CharField(max_length=20)
    description = models.TextField(blank=True)
    environment_url = models.URLField(max_length=500, blank=True)
    log_url = models.URLField(max_length=500, blank=True)
    target_url = models.URLField(max_length=500, blank=True)
    creator = models.ForeignKey("accounts.Developer", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["deployment", "created_at", "pk"]
        verbose_name_plural = "deployment statuses"

    def __str__(self) -> str:
        return f"{self.deployment_id} {self.state}"


class WorkflowRun(models.Model):
    github_id = models.BigIntegerField(unique=True)
    repository = models.ForeignKey(Repository, on_delete=models.CASCADE, related_name="workflow_runs")
    workflow_id = models.BigIntegerField()
    name = models.CharField(max_length=200, blank=True)
    path = models.CharField(max_length=300, blank=True)
    event = models.CharField(max_length=50)
    status = models.CharField(max_length=30, blank=True)
    conclusion = models.CharField(max_length=30, blank=True)
    head_branch = models.CharField(max_length=255, blank=True)
    head_sha = models.CharField(max_length=40)
    run_number = models.PositiveIntegerField()
    run_attempt = models.PositiveIntegerField(default=1)
    actor = models.ForeignKey("accounts.Developer", null=True, blank=True, on_delete=models.SET_NULL)
    html_url = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    run_started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["repository", "-created_at"]
        indexes = [
            models.Index(fields=["repository", "-created_at"], name="run_repo_created"),
            models.Index(fields=["repository", "head_sha"], name="run_repo_sha"),
            models.Index(fields=["status"], name="run_status"),
        ]

    def __str__(self) -> str:
        return f"{self.repository} {self.name} #{self.run_number}"


# Trunkline's own bookkeeping of the mirror (deliveries, sync bookmarks and runs) lives in records.py; imported here
# so that Django and every `from delivery.github.models import …` find them.
from delivery.github.records import SyncCursor, SyncRun, WebhookDelivery  # noqa: E402

__all__ = [
    "LINK_PLACEHOLDERS",
    "Branch",
    "Commit",
    "Deployment",
    "DeploymentStatus",
    "PullRequest",
    "PullRequestCommit",
    "Repository",
    "Review",
    "ReviewRequest",
    "SyncCursor",
    "SyncRun",
    "Tag",
    "WebhookDelivery",
    "WorkflowRun",
]
