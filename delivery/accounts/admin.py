from django.contrib import admin

from delivery.accounts.models import AuditEvent, Developer, OnCallShift


@admin.register(Developer)
class DeveloperAdmin(admin.ModelAdmin):
    list_display = ["login", "name", "github_id", "user", "is_bot", "slack_member_id", "first_seen_at"]
    list_filter = ["is_bot"]
    search_fields = ["login", "name", "slack_member_id"]
    raw_id_fields = ["user"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor_login", "verb", "repository", "target_type", "target_id", "summary"]
    list_filter = ["verb", "repository"]
    search_fields = ["actor_login", "summary", "target_id"]
    date_hierarchy = "created_at"

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the audit log is append-only


@admin.register(OnCallShift)
class OnCallShiftAdmin(admin.ModelAdmin):
    list_display = ["developer", "starts_at", "ends_at", "is_override", "created_by"]
    list_filter = ["is_override"]
    raw_id_fields = ["developer", "created_by"]
