"""ClickUp's records in the Django admin: its webhook deliveries (with the operator's replay), the status moves they
told of, the workspace's members and the followed lists' tasks; read, not edited."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from delivery.clickup.models import AssignedTask, ClickUpDelivery, TaskStatusChange, WorkspaceMember
from delivery.clickup.webhooks import QUEUE


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ClickUpDelivery)
class ClickUpDeliveryAdmin(_ReadOnly):
    list_display = ["received_at", "event", "task_id", "outcome", "attempts", "processed_at", "result"]
    list_filter = ["outcome", "event"]
    search_fields = ["task_id", "key", "result", "error"]
    exclude = ["body"]
    actions = ["replay"]

    @admin.action(description="Replay the selected failed or ignored deliveries")
    def replay(self, request: HttpRequest, queryset: QuerySet[ClickUpDelivery]) -> None:
        replayed = sum(QUEUE.replay(pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"{replayed} deliveries queued again.")


@admin.register(TaskStatusChange)
class TaskStatusChangeAdmin(_ReadOnly):
    list_display = ["task_id", "status", "changed_at"]
    search_fields = ["task_id", "status"]


@admin.register(WorkspaceMember)
class WorkspaceMemberAdmin(_ReadOnly):
    list_display = ["username", "email", "user_id", "read_at"]
    search_fields = ["username", "email", "user_id"]


@admin.register(AssignedTask)
class AssignedTaskAdmin(_ReadOnly):
    list_display = ["label", "name", "status", "assignee_id", "list_id", "read_at"]
    list_filter = ["list_id", "status"]
    search_fields = ["task_id", "custom_id", "name"]
