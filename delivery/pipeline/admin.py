from django.contrib import admin

from delivery.pipeline.models import Change, Release, TaskLink


@admin.register(Change)
class ChangeAdmin(admin.ModelAdmin):
    list_display = ["title", "repository", "author", "stage", "merged_at", "production_at"]
    list_filter = ["repository", "stage"]
    search_fields = ["title"]
    raw_id_fields = ["pull_request", "commit", "author", "next_owner"]


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ["__str__", "repository", "environment", "state", "deployed_at", "is_rollback", "failed"]
    list_filter = ["repository", "state", "is_rollback", "failed"]
    search_fields = ["tag_name", "sha"]
    raw_id_fields = ["deployment", "previous_release", "fix_for"]
    filter_horizontal = ["owners"]


@admin.register(TaskLink)
class TaskLinkAdmin(admin.ModelAdmin):
    list_display = ["clickup_task_id", "name", "status", "assignee_names", "fetch_state", "fetched_at", "change"]
    list_filter = ["fetch_state"]
    search_fields = ["clickup_task_id", "name"]
    raw_id_fields = ["change", "assignee"]
