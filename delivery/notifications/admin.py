"""The notification log in the admin: read-only, with the operator's "retry now"."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from delivery.notifications.models import Notification
from delivery.notifications.service import notices_configured, notifications_retry


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "kind",
        "repository",
        "target",
        "outcome",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "transport",
    ]
    list_filter = ["outcome", "kind", "transport"]
    search_fields = ["dedupe_key", "text", "target", "error"]
    list_select_related = ["repository"]
    date_hierarchy = "created_at"
    actions = ["retry_now"]

    def get_readonly_fields(self, request: HttpRequest, obj: Notification | None = None) -> list[str]:
        # The log is a record of what happened: it is read, not edited.
        return [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Retry the selected notices now", permissions=["change"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        if not notices_configured():
            self.message_user(
                request,
                "Neither Slack (SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL) nor ClickUp (CLICKUP_TOKEN and "
                "CLICKUP_TEAM_ID) is configured: nothing sent.",
                messages.ERROR,
            )
            return
        queued = notifications_retry(notification_ids=queryset.values_list("pk", flat=True))
        skipped = queryset.count() - queued
        note = f" ({skipped} already sent or being sent were left alone)" if skipped else ""
        self.message_user(request, f"{queued} notices queued again{note}.")
