"""A local stand-in for ClickUp: a real HTTP server on 127.0.0.1 speaking the parts of ClickUp's API v2 that
Trunkline uses, so Trunkline's client (delivery/clickup/client.py) runs unchanged against it (tests, the demo).

- `GET /api/v2/task/{id}`: a task, with its checklists and description (`?custom_task_ids=true&team_id=…` reads
  `{id}` as a custom id such as PRJ-1, here and on the two calls below); 404 `{"err": "Task not found, deleted",
  "ECODE": "ITEM_013"}` for an unknown one.
- `POST /api/v2/task/{id}/comment` (`comment_text`): kept in `comments`
  (`GET` lists a task's, newest first); `PUT /api/v2/task/{id}` (`status`) moves it.
- `GET /api/v2/list/{list_id}/task?assignees[]=…&page=N`: a list's open tasks assigned to any of them, `page_size`
  a page, with `last_page`.
- `GET /api/v2/team`: the workspace and its members (id, username, email).
- `POST /api/v2/team/{team_id}/webhook` (`endpoint`, `events`) answers the webhook with its `secret`; `GET` lists
  them, `DELETE /api/v2/webhook/{id}` removes one. When a task changes (`move_task`, `rename_task`, `assign`,
  `remove_task`, or Trunkline's own `PUT`), every webhook whose events include it gets a delivery signed as ClickUp
  signs them (`X-Signature`, the hex HMAC-SHA256 of the raw body with its secret), with ClickUp's `history_items`;
  `send_webhook(event, task_id)` posts one at once and answers its status.

Every call needs `Authorization: <token>` (ClickUp's personal tokens carry no "Bearer"): 401 `OAUTH_017` otherwise.
Switches inject ClickUp's bad days: `fail_next(n, status=502)` (5xx), `rate_limit_next(n, reset_in=2)` (429 with
`X-RateLimit-Reset`, a Unix time, as ClickUp sends it), `remove_task(id)` (404 from then on).

Run it alone with `python -m tools.clickup_server --port 8766`: it serves the GitHub simulator's team's tasks
(`simulator_tasks`, PRJ-1 onwards, as the simulator's branches name them) and, with `--members ana,bo`, a backlog
assigned to those developers (their ClickUp address is `login@<--email-domain>`, as the simulator's); `--live` moves
a task to "in progress" every `--tick-seconds`. The tests use `DEMO_TASKS` unless they give their own.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import hmac
import itertools
import json
import queue
import random
import re
import secrets
import threading
import time
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tools.clickup_tasks import (
    BACKLOG_LIST_ID,
    DEFAULT_LIST_ID,
    DEMO_TASKS,
    Member,
    Task,
    backlog_tasks,
    simulator_tasks,
)
from tools.stand_in import StandIn, json_reply

__all__ = ["BACKLOG_LIST_ID", "DEMO_TASKS", "Task", "simulator_tasks"]

DEFAULT_TOKEN = "pk_trunkline_stand_in"  # noqa: S105 - the stand-in's own, not a secret
DEFAULT_TEAM_ID = "9012345"
TASK_PATH = re.compile(r"^/api/v2/task/(?P<id>[^/]+)(?P<comment>/comment)?$")
WEBHOOK_PATH = re.compile(r"^/api/v2/team/(?P<team>[^/]+)/webhook$")
ONE_WEBHOOK_PATH = re.compile(r"^/api/v2/webhook/(?P<id>[^/]+)$")
LIST_TASKS_PATH = re.compile(r"^/api/v2/list/(?P<list>[^/]+)/task$")
STATUSES = {"to do": "#d3d3d3", "in progress": "#4194f6", "review": "#a875ff", "complete": "#6bc950"}
CLOSED = {"complete", "closed", "done"}


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    status: int
    received_at: float  # time.time()


@dataclass(frozen=True)
class SentDelivery:
    event: str
    task_id: str
    status: int  # the endpoint's answer (0: no answer)


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
        emails: dict[str, str] | None = None,
        page_size: int = 100,
    ) -> None:
        self.token = token
        self.team_id = team_id
        self.page_size = page_size
        self._lock = threading.Lock()
        self._emails = emails or {}
        self._tasks: dict[str, Task] = {}
        self._members: dict[str, Member] = {}
        for task in copy.deepcopy(tasks if tasks is not None else DEMO_TASKS):  # tests change them: their own copy
            self.add_task(task)
        self.comments: list[tuple[str, str]] = []  # (task id, text)
        self.webhooks: list[dict[str, Any]] = []
        self.deliveries: list[SentDelivery] = []
        self._history = itertools.count(int(time.time() * 1000) * 1000)
        self._requests: list[ReceivedRequest] = []
        self._faults: list[tuple[int, float]] = []  # (status, reset in seconds) for the next requests, in order
        self._sending = threading.Condition()
        self._notified = self._sent = 0
        self._outbox: queue.Queue[tuple[str, str, list[dict[str, Any]]] | None] = queue.Queue()
        self._sender = threading.Thread(target=self._send_loop, name="clickup-webhooks", daemon=True)
        self._sender.start()
        self._listen(host, port, self._handler_class())

    # -- its world ---------------------------------------------------------------------------------------------
    def add_task(self, task: Task) -> Task:
        with self._lock:
            self._tasks[task.id] = task
            for name in task.assignees:
                self._member(name)
        return task

    def task(self, task_id: str) -> Task:
        with self._lock:
            return self._tasks[task_id]

    def member(self, username: str) -> Member:
        with self._lock:
            return self._member(username)

    def _member(self, username: str) -> Member:
        if username not in self._members:
            email = self._emails.get(username) or f"{username.lower().replace(' ', '.')}@example.com"
            self._members[username] = Member(1000 + len(self._members), username, email)
        return self._members[username]

    def remove_task(self, task_id: str) -> None:
        """Delete it: 404 from now on, and `taskDeleted` to the webhooks."""
        with self._lock:
            gone = self._tasks.pop(task_id, None)
        if gone is not None:
            self._notify("taskDeleted", task_id, [])

    def move_task(self, task_id: str, status: str) -> None:
        """Product moves a task (as on ClickUp's board): `taskStatusUpdated` to the webhooks."""
        with self._lock:
            task = self._tasks[task_id]
            before, task.status = task.status, status.lower()
        if before != task.status:
            self._notify("taskStatusUpdated", task_id, [self._item("status", _status(before), _status(task.status))])

    def rename_task(self, task_id: str, name: str) -> None:
        with self._lock:
            task = self._tasks[task_id]
            before, task.name = task.name, name
        self._notify("taskUpdated", task_id, [self._item("name", before, name)])

    def assign(self, task_id: str, username: str, *, remove: bool = False) -> None:
        """Add (or remove) an assignee: `taskAssigneeUpdated` to the webhooks."""
        with self._lock:
            task = self._tasks[task_id]
            person = self._member(username).payload()
            if remove:
                task.assignees = [a for a in task.assignees if a != username]
            elif username not in task.assignees:
                task.assignees.append(username)
        field_name = "assignee_rem" if remove else "assignee_add"
        before, after = (person, None) if remove else (None, person)
        self._notify("taskAssigneeUpdated", task_id, [self._item(field_name, before, after)])

    def _item(self, field_name: str, before: Any, after: Any) -> dict[str, Any]:
        return {
            "id": str(next(self._history)),
            "type": 1,
            "date": str(int(time.time() * 1000)),
            "field": field_name,
            "parent_id": DEFAULT_LIST_ID,
            "data": {},
            "source": None,
            "user": {"id": 183, "username": "Product", "email": "product@example.com"},
            "before": before,
            "after": after,
        }

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
    def send_webhook(
        self,
        event: str,
        task_id: str,
        *,
        webhook: dict[str, Any] | None = None,
        history_items: list[dict[str, Any]] | None = None,
        secret: str | None = None,
    ) -> int:
        """Post `event` for the task to a registered webhook (the last one) now, signed with its secret (or with
        `secret`, to send a forged one); returns the endpoint's status."""
        hook = webhook or self.webhooks[-1]
        body = json.dumps(
            {"event": event, "task_id": task_id, "webhook_id": hook["id"], "history_items": history_items or []}
        ).encode()
        return _post(hook["endpoint"], body, _sign(secret or hook["secret"], body))

    def _notify(self, event: str, task_id: str, items: list[dict[str, Any]]) -> None:
        with self._sending:
            self._notified += 1
        self._outbox.put((event, task_id, items))

    def _send_loop(self) -> None:
        """Deliveries go out in the order the changes were made, one at a time, off the request's thread (as
        ClickUp's do: the change is answered first)."""
        while (next_one := self._outbox.get()) is not None:
            event, task_id, items = next_one
            with self._lock:
                hooks = [h for h in self.webhooks if event in h["events"] or "*" in h["events"]]
            for hook in hooks:
                status = self.send_webhook(event, task_id, webhook=hook, history_items=items)
                with self._lock:
                    self.deliveries.append(SentDelivery(event, task_id, status))
            with self._sending:
                self._sent += 1
                self._sending.notify_all()

    def delivered(self, timeout: float = 10.0) -> list[SentDelivery]:
        """What was sent, once every change made before this call has been delivered."""
        with self._sending:
            target = self._notified
            self._sending.wait_for(lambda: self._sent >= target, timeout=timeout)
        with self._lock:
            return list(self.deliveries)

    def stop(self) -> None:
        self._outbox.put(None)
        super().stop()

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
        if path == "/api/v2/team" and method == "GET":
            return 200, self._teams(), {}
        if match := WEBHOOK_PATH.match(path):
            if match["team"] != self.team_id:
                return 401, {"err": "Team not authorized", "ECODE": "OAUTH_027"}, {}
            return self._webhook_call(method, data)
        if (match := ONE_WEBHOOK_PATH.match(path)) and method == "DELETE":
            with self._lock:
                kept = [h for h in self.webhooks if h["id"] != match["id"]]
                found, self.webhooks = len(kept) != len(self.webhooks), kept
            return (200, {}, {}) if found else (404, {"err": "Webhook not found", "ECODE": "HOOK_002"}, {})
        if (match := LIST_TASKS_PATH.match(path)) and method == "GET":
            return 200, self._list_tasks(match["list"], query), {}
        match = TASK_PATH.match(path)
        if not match:
            return 404, {"err": "Route not found", "ECODE": "APP_404"}, {}
        task = self._find(match["id"], query)
        if task is None:
            return 404, {"err": "Task not found, deleted", "ECODE": "ITEM_013"}, {}
        if match["comment"] and method == "GET":  # the task's comments, newest first, as ClickUp lists them
            with self._lock:
                said = [(n, text) for n, (task_id, text) in enumerate(self.comments, 1) if task_id == task.id]
            comments = [{"id": str(90000 + n), "comment_text": text, "hist_id": str(n)} for n, text in reversed(said)]
            return 200, {"comments": comments}, {}
        if match["comment"]:
            if method != "POST" or not data.get("comment_text"):
                return 400, {"err": "Comment text required", "ECODE": "COMM_002"}, {}
            with self._lock:
                self.comments.append((task.id, data["comment_text"]))
                number = len(self.comments)
            return 200, {"id": str(90000 + number), "hist_id": str(number), "date": int(time.time() * 1000)}, {}
        if method == "PUT" and "status" in data:
            self.move_task(task.id, str(data["status"]))
        return 200, self._payload(task), {}

    def _webhook_call(self, method: str, data: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        if method == "GET":
            with self._lock:
                hooks = [{**h, "team_id": int(self.team_id), "health": {"status": "active"}} for h in self.webhooks]
            return 200, {"webhooks": hooks}, {}
        if method != "POST":
            return 405, {"err": "Method not allowed"}, {}
        hook = {
            "id": secrets.token_hex(8),
            "endpoint": data.get("endpoint", ""),
            "events": data.get("events", []),
            "secret": secrets.token_hex(16),
        }
        with self._lock:
            self.webhooks.append(hook)
        return 200, {"id": hook["id"], "webhook": {**hook, "team_id": self.team_id}}, {}

    def _teams(self) -> dict[str, Any]:
        with self._lock:
            members = [{"user": m.payload()} for m in self._members.values()]
        return {"teams": [{"id": self.team_id, "name": "Acme", "members": members}]}

    def _list_tasks(self, list_id: str, query: dict[str, list[str]]) -> dict[str, Any]:
        wanted = set(query.get("assignees[]", []))
        page = int((query.get("page") or ["0"])[0] or 0)
        with self._lock:
            ids = {m.username: str(m.id) for m in self._members.values()}
            found = [
                t
                for t in self._tasks.values()
                if t.list_id == list_id
                and t.status not in CLOSED
                and (not wanted or wanted & {ids.get(a, "") for a in t.assignees})
            ]
        chunk = found[page * self.page_size : (page + 1) * self.page_size]
        return {"tasks": [self._payload(t) for t in chunk], "last_page": (page + 1) * self.page_size >= len(found)}

    def _payload(self, task: Task) -> dict[str, Any]:
        with self._lock:
            where = f"{self.team_id}/{task.custom_id}" if task.custom_id else task.id
            people = [self._member(name).payload() for name in task.assignees]
        return {
            "id": task.id,
            "custom_id": task.custom_id,
            "name": task.name,
            "text_content": task.description,
            "description": task.description,
            "status": {**_status(task.status), "type": "custom"},
            "assignees": people,
            "checklists": [
                {
                    "id": f"{task.id}-criteria",
                    "name": "Acceptance criteria",
                    "items": [
                        {"id": f"{task.id}-{n}", "name": item, "resolved": False}
                        for n, item in enumerate(task.checklist)
                    ],
                }
            ]
            if task.checklist
            else [],
            "list": {"id": task.list_id},
            "team_id": self.team_id,
            "url": f"https://app.clickup.com/t/{where}",
        }

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

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _status(name: str) -> dict[str, Any]:
    return {
        "status": name,
        "color": STATUSES.get(name, "#87909e"),
        "orderindex": list(STATUSES).index(name) if name in STATUSES else 9,
    }


def _sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _post(endpoint: str, body: bytes, signature: str) -> int:
    request = urllib.request.Request(  # noqa: S310 - the endpoint Trunkline registered
        endpoint, data=body, headers={"Content-Type": "application/json", "X-Signature": signature}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0  # nobody listening: ClickUp would retry later; the stand-in only records it


def _live(server: ClickUpServer, tick: float, rng: random.Random) -> None:
    """Product at work: now and then a task waiting in "to do" goes to "in progress" (its webhooks tell Trunkline)."""
    while True:
        time.sleep(tick)
        with server._lock:
            waiting = [t.id for t in server._tasks.values() if t.status == "to do"]
        if waiting:
            server.move_task(rng.choice(sorted(waiting)), "in progress")


def main() -> None:
    parser = argparse.ArgumentParser(description="A local stand-in for ClickUp's API v2.")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--team-id", default=DEFAULT_TEAM_ID)
    parser.add_argument("--members", default="", help="the developers' logins (comma-separated): their backlog")
    parser.add_argument("--email-domain", default="acme.test", help="a developer's address is login@this")
    parser.add_argument("--live", action="store_true", help="move a waiting task to 'in progress' now and then")
    parser.add_argument("--tick-seconds", type=float, default=45.0)
    args = parser.parse_args()
    logins = [login for login in args.members.split(",") if login]
    server = ClickUpServer(
        port=args.port,
        token=args.token,
        team_id=args.team_id,
        tasks=simulator_tasks() + backlog_tasks(logins),
        emails={login: f"{login}@{args.email_domain}" for login in logins},
    )
    print(f"ClickUp stand-in on {server.url} (team {server.team_id})", flush=True)
    if args.live:
        threading.Thread(target=_live, args=(server, args.tick_seconds, random.Random(7)), daemon=True).start()  # noqa: S311 - not a secret
    server._httpd.serve_forever()


if __name__ == "__main__":
    main()
