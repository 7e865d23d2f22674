from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from delivery.github.models import (
    Branch,
    Commit,
    Deployment,
    DeploymentStatus,
    PullRequest,
    PullRequestCommit,
    Repository,
    Review,
    SyncCursor,
    SyncRun,
    Tag,
    WebhookDelivery,
    WorkflowRun,
)
from delivery.github.webhooks import delivery_replay


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin):
    list_display = ["full_name", "default_branch", "is_active", "archived", "last_synced_at", "unavailable_reason"]
    list_filter = ["is_active", "archived", "private", "rollback_method"]
    search_fields = ["full_name"]
    fieldsets = [
        (None, {"fields": ["full_name", "owner", "name", "github_id", "description", "html_url", "default_branch"]}),
        ("State", {"fields": ["is_active", "archived", "private", "unavailable_reason", "last_synced_at"]}),
        (
            "Environments and tags",
            {"fields": ["preview_environment_pattern", "staging_environment", "production_environment", "tag_pattern"]},
        ),
        (
            "Rules",
            {
                "fields": [
                    "branch_age_limit_hours",
                    "required_approvals",
                    "staging_stuck_minutes",
                    "tag_stuck_minutes",
                    "production_stuck_minutes",
                ]
            },
        ),
        (
            "Monitoring and rollback",
            {
                "fields": [
                    "monitoring_window_minutes",
                    "monitoring_grace_minutes",
                    "checklist_template",
                    "logs_url_template",
                    "metrics_url_template",
                    "errors_url_template",
                    "rollback_method",
                    "rollback_workflow_file",
                    "rollback_workflow_input",
                    "slack_channel",
                ]
            },
        ),
    ]
    readonly_fields = ["github_id", "last_synced_at"]


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    list_display = ["name", "repository", "first_seen_at", "deleted_at"]
    list_filter = ["repository"]
    search_fields = ["name"]


@admin.register(Commit)
class CommitAdmin(admin.ModelAdmin):
    list_display = ["short_sha", "repository", "title", "author", "authored_at", "main_position"]
    list_filter = ["repository"]
    search_fields = ["sha", "message"]
    raw_id_fields = ["author"]

    @admin.display(description="sha")
    def short_sha(self, obj: Commit) -> str:
        return obj.sha[:7]


class ReviewInline(admin.TabularInline):
    model = Review
    extra = 0
    raw_id_fields = ["author"]


@admin.register(PullRequest)
class PullRequestAdmin(admin.ModelAdmin):
    list_display = ["number", "repository", "title", "author", "state", "draft", "created_at", "merged_at"]
    list_filter = ["repository", "state", "draft"]
    search_fields = ["title", "head_ref"]
    raw_id_fields = ["author", "merged_by"]
    date_hierarchy = "created_at"
    inlines = [ReviewInline]


@admin.register(PullRequestCommit)
class PullRequestCommitAdmin(admin.ModelAdmin):
    list_display = ["sha", "pull_request", "author", "authored_at"]
    raw_id_fields = ["pull_request", "author"]


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["pull_request", "author", "state", "submitted_at"]
    list_filter = ["state"]
    raw_id_fields = ["pull_request", "author"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "repository", "sha", "created_at"]
    list_filter = ["repository"]
    search_fields = ["name", "sha"]


class DeploymentStatusInline(admin.TabularInline):
    model = DeploymentStatus
    extra = 0
    raw_id_fields = ["creator"]


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ["github_id", "repository", "environment", "ref", "state", "created_at", "is_rollback"]
    list_filter = ["repository", "environment", "state", "is_rollback", "production_environment"]
    search_fields = ["sha", "ref"]
    raw_id_fields = ["creator"]
    date_hierarchy = "created_at"
    inlines = [DeploymentStatusInline]


@admin.register(WorkflowRun)
class WorkflowRunAdmin(admin.ModelAdmin):
    list_display = ["name", "run_number", "repository", "event", "status", "conclusion", "head_branch", "created_at"]
    list_filter = ["repository", "status", "conclusion", "event"]
    search_fields = ["name", "head_sha", "head_branch"]
    raw_id_fields = ["actor"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["guid", "event", "action", "repository_full_name", "received_at", "processed_at", "outcome"]
    list_filter = ["outcome", "event"]
    search_fields = ["guid", "repository_full_name"]
    exclude = ["body"]
    actions = ["replay"]

    @admin.action(description="Replay the selected failed deliveries")
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        replayed = sum(delivery_replay(delivery_id=pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"{replayed} deliveries queued again.")


@admin.register(SyncCursor)
class SyncCursorAdmin(admin.ModelAdmin):
    list_display = ["repository", "resource", "high_water_at", "high_water_key", "last_success_at", "last_error"]
    list_filter = ["resource"]


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ["started_at", "repository", "trigger", "status", "requests", "not_modified", "created", "updated"]
    list_filter = ["status", "trigger"]
