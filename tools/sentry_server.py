"""A local stand-in for Sentry: a real HTTP server on 127.0.0.1 speaking the part of Sentry's API the watch reads, so
Trunkline's client (delivery/monitoring/sentry.py) runs unchanged against it (the tests).

- `GET /api/0/organizations/{org}/issues/?project=…&environment=…&statsPeriod=…&query=is:unresolved`: the
  organization's issues of that project (numeric id) and environment with an event within the period (`30m`, `24h`,
  `7d`…), unresolved ones only for `is:unresolved`, newest first for `sort=new`, at most `limit` (100). Each issue as
  Sentry writes it: `id`, `shortId`, `title`, `culprit`, `permalink`, `firstSeen`, `lastSeen` (ISO 8601, Z), `count`
  (a string), `userCount`, `status`, `substatus`, `level`, `project`.
- Errors as Sentry answers them, `{"detail": …}`: 401 without `Authorization: Bearer <token>`; 404 for an unknown
  organization; 403 for a project id the organization does not have.

Switches for Sentry's bad days: `refuse_token()` (401 from then on), `fail_next(n, status=502)`, `rate_limit_next(n)`
(429 with `X-Sentry-Rate-Limit-Reset`, a Unix time, and `Retry-After`).
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tools.stand_in import StandIn, json_reply

DEFAULT_TOKEN = "sntrys_stand_in"  # noqa: S105 - the stand-in's own, not a secret
ISSUES_PATH = re.compile(r"^/api/0/organizations/(?P<org>[^/]+)/issues/?$")
PERIOD = re.compile(r"^(?P<n>\d+)(?P<unit>[smhdw])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_ids = itertools.count(4_000_000_001)


@dataclass
class Issue:
    title: str
    first_seen: datetime
    last_seen: datetime
    count: int
    project: str = "4504"
    environment: str = "production"
    substatus: str = "new"  # new / regressed / ongoing / escalating
    status: str = "unresolved"
    culprit: str = "app.views in handler"
    id: str = field(default_factory=lambda: str(next(_ids)))

    def payload(self, base_url: str, organization: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "shortId": f"BACKEND-{int(self.id) % 1000:X}",
            "title": self.title,
            "culprit": self.culprit,
            "permalink": f"{base_url}/organizations/{organization}/issues/{self.id}/",
            "firstSeen": _iso(self.first_seen),
            "lastSeen": _iso(self.last_seen),
            "count": str(self.count),
            "userCount": max(1, self.count // 3),
            "status": self.status,
            "substatus": self.substatus,
            "level": "error",
            "isUnhandled": True,
            "project": {"id": self.project, "name": "backend", "slug": "backend"},
        }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SentryServer(StandIn):
    thread_name = "sentry-stand-in"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str = DEFAULT_TOKEN,
        organization: str = "acme",
        projects: tuple[str, ...] = ("4504",),
    ) -> None:
        self.token = token
        self.organization = organization
        self.projects = projects
        self._lock = threading.Lock()
        self._issues: list[Issue] = []
        self._faults: list[int] = []
        self._token_refused = False
        self.requests: list[dict[str, Any]] = []  # the query strings it was asked, parsed
        self._listen(host, port, self._handler_class())

    def add_issue(self, issue: Issue) -> Issue:
        with self._lock:
            self._issues.append(issue)
        return issue

    # -- switches ----------------------------------------------------------------------------------------------
    def refuse_token(self, refused: bool = True) -> None:
        with self._lock:
            self._token_refused = refused

    def fail_next(self, count: int = 1, *, status: int = 502) -> None:
        with self._lock:
            self._faults.extend([status] * count)

    def rate_limit_next(self, count: int = 1) -> None:
        with self._lock:
            self._faults.extend([429] * count)

    # -- HTTP --------------------------------------------------------------------------------------------------
    def _answer(self, path: str, query: dict[str, list[str]], headers: Any) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            fault = self._faults.pop(0) if self._faults else None
            refused = self._token_refused
        if fault == 429:
            reset = str(int(time.time()) + 30)
            return (
                429,
                {"detail": "You are attempting to use this endpoint too frequently."},
                {
                    "X-Sentry-Rate-Limit-Reset": reset,
                    "Retry-After": "30",
                },
            )
        if fault is not None:
            return fault, {"detail": "Internal Error"}, {}
        if refused or headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"detail": "Invalid token"}, {}
        match = ISSUES_PATH.match(path)
        if not match:
            return 404, {"detail": "The requested resource does not exist"}, {}
        if match["org"] != self.organization:
            return 404, {"detail": "The requested resource does not exist"}, {}
        projects = query.get("project", [])
        if any(p not in self.projects and p != "-1" for p in projects):
            return 403, {"detail": "You do not have permission to perform this action."}, {}
        period = PERIOD.match((query.get("statsPeriod") or ["14d"])[0])
        if period is None:
            return 400, {"detail": "Invalid stats_period. Valid choices are '', '24h', and '14d'"}, {}
        since = datetime.now(UTC) - timedelta(**{UNITS[period["unit"]]: int(period["n"])})
        environments = query.get("environment", [])
        unresolved = "is:unresolved" in (query.get("query") or ["is:unresolved"])[0]
        with self._lock:
            found = [
                i
                for i in self._issues
                if (not projects or "-1" in projects or i.project in projects)
                and (not environments or i.environment in environments)
                and i.last_seen >= since
                and (not unresolved or i.status == "unresolved")
            ]
        newest_first = (query.get("sort") or ["date"])[0] == "new"
        found.sort(key=lambda i: i.first_seen if newest_first else i.last_seen, reverse=True)
        limit = min(100, int((query.get("limit") or ["100"])[0]))
        base = f"http://{self._httpd.server_address[0]!s}:{self._httpd.server_address[1]}"
        return 200, [i.payload(base, self.organization) for i in found[:limit]], {}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                with server._lock:
                    server.requests.append({"path": parts.path, **query})
                status, payload, extra = server._answer(parts.path, query, self.headers)
                json_reply(self, status, payload, extra)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
