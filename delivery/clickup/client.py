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
class Task:
    """What Trunkline keeps of a task."""

    id: str
    custom_id: str
    name: str
    status: str
    status_color: str
    url: str
    assignees: list[str] = field(default_factory=list)


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
        params = {"custom_task_ids": "true", "team_id": self.team_id} if reference.custom else None
        return _task(self._call("GET", f"/task/{reference.task_id}", params=params))

    def comment_add(self, *, task_id: str, text: str) -> str:
        """Comment on a task (ClickUp's own id); returns the comment's id."""
        return str(
            self._call("POST", f"/task/{task_id}/comment", body={"comment_text": text, "notify_all": False})["id"]
        )

    def task_status_set(self, *, task_id: str, status: str) -> Task:
        return _task(self._call("PUT", f"/task/{task_id}", body={"status": status}))

    def webhook_create(self, *, endpoint: str, events: list[str]) -> tuple[str, str]:
        """Register a webhook for the workspace; returns its id and the secret its deliveries are signed with."""
        answer = self._call("POST", f"/team/{self.team_id}/webhook", body={"endpoint": endpoint, "events": events})
        hook = answer.get("webhook") or {}
        if not isinstance(hook, dict) or not hook.get("secret"):
            raise ClickUpUnavailable("ClickUp created a webhook but sent no secret")
        return str(answer.get("id") or hook.get("id")), str(hook["secret"])

    # -- HTTP ------------------------------------------------------------------------------------------------------
    def _call(
        self, method: str, path: str, *, params: dict[str, str] | None = None, body: Any = None
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
    return Task(
        id=str(data["id"]),
        custom_id=str(data.get("custom_id") or ""),
        name=str(data.get("name") or ""),
        status=str(status.get("status") or ""),
        status_color=str(status.get("color") or ""),
        url=str(data.get("url") or ""),
        assignees=[str(a.get("username") or a.get("email") or "") for a in assignees if isinstance(a, dict)],
    )
