"""The ClickUp transport: a notice on a task is a comment on it (`POST /task/{id}/comment`) or a move to a status
(`PUT /task/{id}`), through the one ClickUp client. ClickUp's answers become a TransportError that says whether
trying again can help: a rate limit waits for its reset, an outage backs off, a task gone or a status its list does
not have is recorded and not retried."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from delivery.clickup.client import (
    ClickUpClient,
    ClickUpError,
    ClickUpUnavailable,
    RateLimited,
    TaskNotFound,
    configured,
)
from delivery.clickup.references import TaskReference
from delivery.notifications.transport import TransportError

CLICKUP = "clickup"
"""A notice's transport, as the log names it."""


@dataclass(frozen=True)
class TaskNotice:
    """What a notice does to its task: a comment with `text`, or, with `status`, a move to that status."""

    task: TaskReference
    text: str
    status: str = ""
    label: str = ""  # the task as people write it (PRJ-123), for the log; else from `task`

    @property
    def target(self) -> str:
        return self.label or (self.task.task_id if self.task.custom else f"CU-{self.task.task_id}")

    @classmethod
    def of(cls, payload: dict[str, Any], text: str) -> TaskNotice:
        task = TaskReference(str(payload.get("task_id") or ""), custom=bool(payload.get("custom")))
        return cls(task, text, str(payload.get("status") or ""))

    def as_payload(self) -> dict[str, Any]:
        return {"task_id": self.task.task_id, "custom": self.task.custom, "status": self.status}


class ClickUpTransport:
    name = CLICKUP

    def __init__(self, client: ClickUpClient) -> None:
        self.client = client

    def send(self, notice: TaskNotice) -> str:
        """Comment (returns the comment's id) or move the task (returns "")."""
        if not notice.task.task_id:
            raise TransportError("the notice names no task", permanent=True)
        try:
            if notice.status:
                self.client.task_status_set(task=notice.task, status=notice.status)
                return ""
            return self.client.comment_add(task=notice.task, text=notice.text)
        except RateLimited as exc:
            raise TransportError(
                f"rate limited by ClickUp ({exc})", permanent=False, retry_after=exc.wait_seconds()
            ) from exc
        except TaskNotFound as exc:
            raise TransportError(f"the task is not in ClickUp ({exc})", permanent=True) from exc
        except ClickUpUnavailable as exc:
            raise TransportError(str(exc), permanent=False) from exc
        except ClickUpError as exc:  # a refused token, a status the task's list does not have
            raise TransportError(str(exc), permanent=exc.permanent) from exc


def transport_from_settings() -> ClickUpTransport | None:
    return ClickUpTransport(ClickUpClient.from_settings()) if configured() else None
