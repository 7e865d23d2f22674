"""What Trunkline keeps of ClickUp besides a change's links (pipeline.TaskLink): its webhook deliveries, the status
moves they tell of, the workspace's members (to match them to people) and the tasks of the lists the queues follow."""

from __future__ import annotations

from django.db import models

from delivery.core.models import Delivery


class ClickUpDelivery(Delivery):
    """A ClickUp webhook delivery, stored before it is processed (delivery.core.deliveries). ClickUp names no delivery:
    its retries repeat the body, so the body's SHA-256 is the delivery's identity."""

    key = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the body, in hex.")
    event = models.CharField(max_length=60, db_index=True)
    task_id = models.CharField(max_length=50, blank=True, db_index=True, help_text="ClickUp's own id of the task.")
    webhook_id = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["outcome", "received_at"], name="clickup_delivery_outcome")]
        verbose_name = "ClickUp webhook delivery"
        verbose_name_plural = "ClickUp webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} {self.task_id} {self.key[:12]}"


class TaskStatusChange(models.Model):
    """A task's move to a status, as a `taskStatusUpdated` delivery's history item tells it: when work on a task
    started (its move to "in progress") is read here."""

    task_id = models.CharField(max_length=50, help_text="ClickUp's own id of the task.")
    history_id = models.CharField(max_length=100, unique=True, help_text="ClickUp's id of the history item.")
    status = models.CharField(max_length=100)
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["task_id", "changed_at"]
        indexes = [models.Index(fields=["task_id", "changed_at"], name="task_status_change_task")]

    def __str__(self) -> str:
        return f"{self.task_id} → {self.status}"


class WorkspaceMember(models.Model):
    """A member of the ClickUp workspace, as `GET /team` lists them: a person's ClickUp account is matched to their
    GitHub account by a verified e-mail address."""

    user_id = models.CharField(max_length=50, unique=True)
    username = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True, db_index=True, help_text="Lower case.")
    read_at = models.DateTimeField()

    class Meta:
        ordering = ["username", "user_id"]

    def __str__(self) -> str:
        return self.username or self.email or self.user_id


class AssignedTask(models.Model):
    """A task of a list the queues follow (CLICKUP_QUEUE_LISTS), once per assignee: My queue shows a person's tasks
    that no change names yet."""

    task_id = models.CharField(max_length=50, help_text="ClickUp's own id of the task.")
    custom_id = models.CharField(max_length=50, blank=True)
    assignee_id = models.CharField(max_length=50, help_text="The assignee's ClickUp user id.")
    list_id = models.CharField(max_length=50)
    name = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=100, blank=True)
    url = models.URLField(max_length=500, blank=True)
    read_at = models.DateTimeField()

    class Meta:
        ordering = ["assignee_id", "task_id"]
        constraints = [models.UniqueConstraint(fields=["task_id", "assignee_id"], name="assigned_task_unique")]
        indexes = [models.Index(fields=["assignee_id"], name="assigned_task_assignee")]

    def __str__(self) -> str:
        return f"{self.custom_id or self.task_id} → {self.assignee_id}"

    @property
    def label(self) -> str:
        """How people write it: a custom id as it is, ClickUp's own id as CU-…"""
        return self.custom_id or f"CU-{self.task_id}"
