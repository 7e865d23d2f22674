"""The one way Trunkline talks to ClickUp: API v2 over `requests`, with a timeout on every call and ClickUp's
answers turned into a task or a named error. Nothing here waits or retries: ClickUp is reached from Celery tasks,
which retry a transient failure later (delivery.core.backoff) and a rate limit once it resets (a countdown, never
a sleeping worker); pages only read what was stored."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings

from delivery.clickup.criteria import acceptance_criteria
from delivery.clickup.references import TaskReference


class ClickUpError(Exception):
    """ClickUp did not do what was asked. `permanent`: asking again will not help (a refused token, a bad request)."""

    permanent = False


class NotConfigured(ClickUpError):
    permanent = True


class TaskNotFound(ClickUpError):
    """No such task (deleted, or an id that was never one): a fact about the task, not a failure."""

    permanent = True


class ClickUpUnavailable(ClickUpError):
    """A 5xx, a timeout, a refused connection or an answer that is not ClickUp's: try again later."""


class RateLimited(ClickUpError):
    """ClickUp's rate limit (100 requests a minute on most plans) is spent until `reset_at` (a Unix time)."""

    def __init__(self, message: str, *, reset_at: float) -> None:
        super().__init__(message)
        self.reset_at = reset_at

    def wait_seconds(self, *, now: float | None = None) -> float:
        """How long until the limit resets (at least a second: clocks differ)."""
        return max(1.0, self.reset_at - (time.time() if now is None else now))


@dataclass(frozen=True)
class Person:
    """A ClickUp user: an assignee, or a member of the workspace."""

    id: str
    username: str
    email: str


@dataclass(frozen=True)
class Task:
    """What Trunkline keeps of a task."""

    id: str
    custom_id: str
    name: str
    status: str
    status_color: str
    url: str
    assignees: list[str] = field(default_factory=list)  # their names, as ClickUp shows them
    assignee_ids: list[str] = field(default_factory=list)
    criteria: list[str] = field(default_factory=list)  # acceptance criteria (delivery.clickup.criteria)


@dataclass(frozen=True)
class Webhook:
    id: str
    endpoint: str
    events: list[str]


def configured() -> bool:
    """Whether ClickUp is set up (a token and a workspace); without it the ClickUp parts say so, and nothing calls."""
    return bool(settings.CLICKUP_TOKEN and settings.CLICKUP_TEAM_ID)


class ClickUpClient:
    def __init__(self, *, token: str, team_id: str, api_url: str, timeout: float = 10.0) -> None:
        self.team_id = team_id
        self.api_url = api_url.rstrip("/") + "/api/v2"
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({"Authorization": token, "Content-Type": "application/json"})

    @classmethod
    def from_settings(cls) -> ClickUpClient:
        if not configured():
            raise NotConfigured("ClickUp is not configured (CLICKUP_TOKEN and CLICKUP_TEAM_ID).")
        return cls(
            token=settings.CLICKUP_TOKEN,
            team_id=settings.CLICKUP_TEAM_ID,
            api_url=settings.CLICKUP_API_URL,
            timeout=settings.CLICKUP_TIMEOUT_SECONDS,
        )

    # -- the calls -------------------------------------------------------------------------------------------------
    def task(self, reference: TaskReference) -> Task:
        """The task a change names (a custom id is looked up in the workspace)."""
        return _task(self._call("GET", f"/task/{reference.task_id}", params=self._named(reference)))

    def comment_add(self, *, task: TaskReference, text: str) -> str:
        """Comment on a task (by ClickUp's own id or a custom id); returns the comment's id."""
        answer = self._call(
            "POST",
            f"/task/{task.task_id}/comment",
            params=self._named(task),
            body={"comment_text": text, "notify_all": False},
        )
        return str(answer.get("id") or "")

    def task_status_set(self, *, task: TaskReference, status: str) -> Task:
        """Move a task to a status of its list (by name, as ClickUp names its statuses)."""
        return _task(self._call("PUT", f"/task/{task.task_id}", params=self._named(task), body={"status": status}))

    def list_tasks(self, *, list_id: str, assignee_ids: list[str], page: int = 0) -> tuple[list[Task], bool]:
        """One page (up to 100) of a list's open tasks assigned to any of these people; and whether it is the last."""
        params: list[tuple[str, str]] = [("page", str(page)), ("include_closed", "false"), ("subtasks", "true")]
        params += [("assignees[]", assignee) for assignee in assignee_ids]
        answer = self._call("GET", f"/list/{list_id}/task", params=params)
        tasks = answer.get("tasks")
        if not isinstance(tasks, list):
            raise ClickUpUnavailable("ClickUp answered a list's tasks without `tasks`")
        return [_task(t) for t in tasks if isinstance(t, dict)], bool(answer.get("last_page", True))

    def members(self) -> list[Person]:
        """The members of the workspace (`GET /team` lists the workspaces the token sees, with their members)."""
        teams = self._call("GET", "/team").get("teams")
        team = next((t for t in teams or [] if isinstance(t, dict) and str(t.get("id")) == self.team_id), None)
        if team is None:
            raise ClickUpError(f"The token does not see the workspace {self.team_id} (CLICKUP_TEAM_ID)")
        people = [m.get("user") for m in team.get("members") or [] if isinstance(m, dict)]
        return [_person(p) for p in people if isinstance(p, dict) and p.get("id") is not None]

    def webhook_create(self, *, endpoint: str, events: list[str]) -> tuple[str, str]:
        """Register a webhook for the workspace; returns its id and the secret its deliveries are signed with."""
        answer = self._call("POST", f"/team/{self.team_id}/webhook", body={"endpoint": endpoint, "events": events})
        hook = answer.get("webhook") or {}
        if not isinstance(hook, dict) or not hook.get("secret"):
            raise ClickUpUnavailable("ClickUp created a webhook but sent no secret")
        return str(answer.get("id") or hook.get("id")), str(hook["secret"])

    def webhooks(self) -> list[Webhook]:
        """The workspace's webhooks this token created."""
        hooks = self._call("GET", f"/team/{self.team_id}/webhook").get("webhooks")
        return [
            Webhook(id=str(h.get("id")), endpoint=str(h.get("endpoint") or ""), events=list(h.get("events") or []))
            for h in hooks or []
            if isinstance(h, dict) and h.get("id")
        ]

    def webhook_delete(self, *, webhook_id: str) -> None:
        self._call("DELETE", f"/webhook/{webhook_id}")

    def _named(self, reference: TaskReference) -> dict[str, str] | None:
        """A custom id is looked up in the workspace; ClickUp's own id needs nothing."""
        return {"custom_task_ids": "true", "team_id": self.team_id} if reference.custom else None

    # -- HTTP ------------------------------------------------------------------------------------------------------
    def _call(
        self, method: str, path: str, *, params: dict[str, str] | list[tuple[str, str]] | None = None, body: Any = None
    ) -> dict[str, Any]:
        try:
            response = self.session.request(method, self.api_url + path, params=params, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ClickUpUnavailable(f"ClickUp is not reachable: {exc.__class__.__name__}") from exc
        if response.status_code == 429:
            raise RateLimited("ClickUp's rate limit is spent", reset_at=_reset_at(response))
        if response.status_code >= 500:
            raise ClickUpUnavailable(f"ClickUp answered {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise ClickUpUnavailable(f"ClickUp answered {response.status_code} with a body that is not JSON") from exc
        if not isinstance(data, dict):
            raise ClickUpUnavailable(f"ClickUp answered {response.status_code} with a body of the wrong shape")
        if response.status_code == 404:
            raise TaskNotFound(str(data.get("err") or "not found"))
        if response.status_code >= 400:
            error = ClickUpError(
                f"ClickUp refused: {response.status_code} {data.get('err', '')} {data.get('ECODE', '')}"
            )
            error.permanent = True
            raise error
        return data


def _reset_at(response: requests.Response) -> float:
    """X-RateLimit-Reset is a Unix time in seconds; without it, a minute (ClickUp's window)."""
    try:
        return float(response.headers["X-RateLimit-Reset"])
    except (KeyError, ValueError):
        return time.time() + 60


def _task(data: dict[str, Any]) -> Task:
    status = data.get("status")
    status = status if isinstance(status, dict) else {}
    assignees = data.get("assignees")
    assignees = assignees if isinstance(assignees, list) else []
    if not data.get("id"):
        raise ClickUpUnavailable("ClickUp answered a task without an id")
    people = [a for a in assignees if isinstance(a, dict)]
    return Task(
        id=str(data["id"]),
        custom_id=str(data.get("custom_id") or ""),
        name=str(data.get("name") or ""),
        status=str(status.get("status") or ""),
        status_color=str(status.get("color") or ""),
        url=str(data.get("url") or ""),
        assignees=[str(a.get("username") or a.get("email") or "") for a in people],
        assignee_ids=[str(a["id"]) for a in people if a.get("id") is not None],
        criteria=acceptance_criteria(data),
    )


def _person(data: dict[str, Any]) -> Person:
    return Person(
        id=str(data.get("id")), username=str(data.get("username") or ""), email=str(data.get("email") or "").lower()
    )
