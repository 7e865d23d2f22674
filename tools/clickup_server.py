"""A local stand-in for ClickUp: a real HTTP server on 127.0.0.1 speaking the parts of ClickUp's API v2 that
Trunkline uses, so Trunkline's client (delivery/clickup/client.py) runs unchanged against it (tests, the demo).

- `GET /api/v2/task/{id}`: a task (`?custom_task_ids=true&team_id=…` reads `{id}` as a custom id such as PRJ-1);
  404 `{"err": "Task not found, deleted", "ECODE": "ITEM_013"}` for an unknown one.
- `POST /api/v2/task/{id}/comment` (`comment_text`): kept in `comments`; `PUT /api/v2/task/{id}` (`status`).
- `POST /api/v2/team/{team_id}/webhook` (`endpoint`, `events`): answers the webhook with its `secret`; then
  `send_webhook(event, task_id)` posts a delivery to the endpoint signed like ClickUp's: `X-Signature` is the hex
  HMAC-SHA256 of the raw body with that secret.

Every call needs `Authorization: <token>` (ClickUp's personal tokens carry no "Bearer"): 401 `OAUTH_017` otherwise.
Switches inject ClickUp's bad days: `fail_next(n, status=502)` (5xx), `rate_limit_next(n, reset_in=2)` (429 with
`X-RateLimit-Reset`, a Unix time, as ClickUp sends it), `remove_task(id)` (404 from then on).

Run it alone with `python -m tools.clickup_server --port 8766`: it serves the GitHub simulator's team's tasks
(`simulator_tasks`, PRJ-1 onwards, as the simulator's branches name them); the tests use `DEMO_TASKS` unless they
give their own.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from delivery.simulator.names import TASK_PREFIX, THINGS
from tools.stand_in import StandIn, json_reply

DEFAULT_TOKEN = "pk_trunkline_stand_in"  # noqa: S105 - the stand-in's own, not a secret
DEFAULT_TEAM_ID = "9012345"
TASK_PATH = re.compile(r"^/api/v2/task/(?P<id>[^/]+)(?P<comment>/comment)?$")
WEBHOOK_PATH = re.compile(r"^/api/v2/team/(?P<team>[^/]+)/webhook$")
STATUSES = {"to do": "#d3d3d3", "in progress": "#4194f6", "review": "#a875ff", "complete": "#6bc950"}


@dataclass
class Task:
    id: str
    name: str
    status: str = "to do"
    custom_id: str | None = None
    assignees: list[str] = field(default_factory=list)  # usernames
    description: str = ""
    checklist: list[str] = field(default_factory=list)

    def payload(self, team_id: str) -> dict[str, Any]:
        where = f"{team_id}/{self.custom_id}" if self.custom_id else self.id
        return {
            "id": self.id,
            "custom_id": self.custom_id,
            "name": self.name,
            "text_content": self.description,
            "description": self.description,
            "status": {"status": self.status, "color": STATUSES.get(self.status, "#87909e"), "type": "custom"},
            "assignees": [
                {"id": 1000 + i, "username": name, "email": f"{name.lower().replace(' ', '.')}@example.com"}
                for i, name in enumerate(self.assignees)
            ],
            "checklists": [
                {"name": "Acceptance criteria", "items": [{"name": item, "resolved": False} for item in self.checklist]}
            ]
            if self.checklist
            else [],
            "team_id": team_id,
            "url": f"https://app.clickup.com/t/{where}",
        }


# A small workspace for the tests: ClickUp ids and custom ids of the Space "PRJ".
DEMO_TASKS = [
    Task("86b0x1y2z", "Sign-in with the company account", "in progress", "PRJ-1", ["Ada Lovelace"]),
    Task("86b0x1y30", "Export the invoices as CSV", "review", "PRJ-2", ["Grace Hopper"], checklist=["CSV opens"]),
    Task("86b0x1y31", "Rate limit the public API", "to do", "PRJ-3", []),
    Task("86b0x1y32", "Faster search on the orders page", "complete", "PRJ-4", ["Alan Turing", "Ada Lovelace"]),
]


def simulator_tasks() -> list[Task]:
    """The GitHub simulator's team's tasks: one per thing its pull requests work on, PRJ-1 onwards as their branches
    name them (delivery.simulator.names.task_branch); a few product people assign them."""
    owners = ["Maya Lopez", "Sam Okafor", "Lena Fischer", "Ravi Menon"]
    statuses = ["in progress", "review", "to do", "in progress", "complete"]
    return [
        Task(
            id=f"86c{i:05d}x",
            name=thing[:1].upper() + thing[1:],
            status=statuses[i % len(statuses)],
            custom_id=f"{TASK_PREFIX}-{i + 1}",
            assignees=[owners[i % len(owners)]],
            checklist=[f"{thing[:1].upper() + thing[1:]} works in production", "No new errors in the logs"],
        )
        for i, thing in enumerate(THINGS)
    ]


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    status: int
    received_at: float  # time.time()


class ClickUpServer(StandIn):
    thread_name = "clickup-stand-in"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str = DEFAULT_TOKEN,
        team_id: str = DEFAULT_TEAM_ID,
        tasks: list[Task] | None = None,
    ) -> None:
        self.token = token
        self.team_id = team_id
        self._lock = threading.Lock()
        self._tasks: dict[str, Task] = {}
        for task in tasks if tasks is not None else DEMO_TASKS:
            self.add_task(task)
        self.comments: list[tuple[str, str]] = []  # (task id, text)
        self.webhooks: list[dict[str, Any]] = []
        self._requests: list[ReceivedRequest] = []
        self._faults: list[tuple[int, float]] = []  # (status, reset in seconds) for the next requests, in order
        self._listen(host, port, self._handler_class())

    # -- its world ---------------------------------------------------------------------------------------------
    def add_task(self, task: Task) -> Task:
        with self._lock:
            self._tasks[task.id] = task
        return task

    def task(self, task_id: str) -> Task:
        with self._lock:
            return self._tasks[task_id]

    def remove_task(self, task_id: str) -> None:
        with self._lock:
            self._tasks.pop(task_id, None)

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    # -- switches ----------------------------------------------------------------------------------------------
    def fail_next(self, count: int = 1, *, status: int = 502) -> None:
        """Answer the next `count` requests with `status` (an outage)."""
        with self._lock:
            self._faults.extend([(status, 0.0)] * count)

    def rate_limit_next(self, count: int = 1, *, reset_in: float = 2.0) -> None:
        """Answer the next `count` requests with 429 and `X-RateLimit-Reset` `reset_in` seconds from now."""
        with self._lock:
            self._faults.extend([(429, reset_in)] * count)

    # -- webhooks ----------------------------------------------------------------------------------------------
    def send_webhook(self, event: str, task_id: str, *, webhook: dict[str, Any] | None = None) -> int:
        """Post `event` for the task to a registered webhook (the last one), signed with its secret."""
        hook = webhook or self.webhooks[-1]
        body = json.dumps({"event": event, "task_id": task_id, "webhook_id": hook["id"], "history_items": []}).encode()
        signature = hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(  # noqa: S310 - the endpoint Trunkline registered
            hook["endpoint"], data=body, headers={"Content-Type": "application/json", "X-Signature": signature}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                return int(answer.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    # -- HTTP --------------------------------------------------------------------------------------------------
    def _answer(
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            fault = self._faults.pop(0) if self._faults else None
        if fault is not None:
            status, reset_in = fault
            if status == 429:
                reset = str(int(time.time() + reset_in + 0.999))
                extra = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
                return 429, {"err": "Rate limit reached", "ECODE": "APP_002"}, extra
            return status, {"err": "Internal Server Error", "ECODE": "APP_001"}, {}
        if headers.get("Authorization") != self.token:
            return 401, {"err": "Token invalid", "ECODE": "OAUTH_017"}, {}
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return 400, {"err": "Invalid JSON", "ECODE": "INPUT_001"}, {}
        if match := WEBHOOK_PATH.match(path):
            if method != "POST":
                return 405, {"err": "Method not allowed"}, {}
            if match["team"] != self.team_id:
                return 401, {"err": "Team not authorized", "ECODE": "OAUTH_027"}, {}
            hook = {
                "id": secrets.token_hex(8),
                "endpoint": data.get("endpoint", ""),
                "events": data.get("events", []),
                "secret": secrets.token_hex(16),
            }
            with self._lock:
                self.webhooks.append(hook)
            return 200, {"id": hook["id"], "webhook": {**hook, "team_id": self.team_id}}, {}
        match = TASK_PATH.match(path)
        if not match:
            return 404, {"err": "Route not found", "ECODE": "APP_404"}, {}
        task = self._find(match["id"], query)
        if task is None:
            return 404, {"err": "Task not found, deleted", "ECODE": "ITEM_013"}, {}
        if match["comment"]:
            if method != "POST" or not data.get("comment_text"):
                return 400, {"err": "Comment text required", "ECODE": "COMM_002"}, {}
            with self._lock:
                self.comments.append((task.id, data["comment_text"]))
                number = len(self.comments)
            return 200, {"id": str(90000 + number), "hist_id": str(number), "date": int(time.time() * 1000)}, {}
        if method == "PUT":
            if "status" in data:
                task.status = str(data["status"]).lower()
            return 200, task.payload(self.team_id), {}
        return 200, task.payload(self.team_id), {}

    def _find(self, task_id: str, query: dict[str, list[str]]) -> Task | None:
        with self._lock:
            if query.get("custom_task_ids") == ["true"]:
                if query.get("team_id") != [self.team_id]:
                    return None
                return next((t for t in self._tasks.values() if t.custom_id == task_id.upper()), None)
            return self._tasks.get(task_id)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, payload, extra = server._answer(
                    self.command, parts.path, parse_qs(parts.query), self.headers, body
                )
                with server._lock:
                    server._requests.append(ReceivedRequest(self.command, self.path, status, time.time()))
                json_reply(self, status, payload, extra)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="A local stand-in for ClickUp's API v2.")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--team-id", default=DEFAULT_TEAM_ID)
    args = parser.parse_args()
    server = ClickUpServer(port=args.port, token=args.token, team_id=args.team_id, tasks=simulator_tasks())
    print(f"ClickUp stand-in on {server.url} (team {server.team_id})", flush=True)
    server._httpd.serve_forever()


if __name__ == "__main__":
    main()
