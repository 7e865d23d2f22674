"""Fault switches, request statistics and the primary rate limit, all thread-safe.

A fault answers the next matching API request(s) instead of the simulator (``POST /_simulator/faults``):
``server_error`` (500/502/503, body ``{"message": "Server Error"}``), ``validation_failed`` (422 with
``message``, e.g. GitHub's "Workflow does not have 'workflow_dispatch' trigger"), or a primary/secondary
rate limit. ``path_contains`` and ``method`` narrow it to one operation; ``after`` lets that many matching
requests through first; ``take_effect`` carries the request out before answering with the fault (GitHub
timing out after it acted: the dispatch happened although the client saw a 5xx).

Three kinds spoil a real answer instead of replacing it (its status and headers, the ETag included, are kept, so a
client that bookmarks the ETag of a spoilt page never reads that page again): ``damaged_body`` sends a 200 whose
body does not parse (``damage="truncated"``: the first half of the real one; ``"not_json"``: an HTML page) or
parses to the wrong shape (``"wrong_shape"``: a list answered as an object, an object as a list);
``cut_body`` breaks the connection inside the body (``damage="length"``: fewer bytes than its Content-Length,
``"chunked"``: a chunked body that stops mid-way, ``"bad_gzip"``: a gzip Content-Encoding over bytes that are not
gzip); ``malformed_item`` applies ``patch`` to the ``index``-th object of a list answer (a bad date, a null id, an
object where a list should be, a commit whose parent is itself). Answers other than 200 go out unspoilt.

GraphQL (``POST /api/graphql``): its requests are matched as the path ``/graphql``, after the query is parsed,
validated and costed (an invalid query gets its errors and leaves the faults alone). ``nodes_over`` narrows a fault to
queries that may return more nodes than that (GitHub's ``nodeCount``): ``{"kind": "server_error", "status": 502,
"nodes_over": 2000}`` is the timeout a large page meets. There ``server_error`` answers GitHub's "Something went
wrong while executing your query" with ``data: null``; ``primary_rate_limit`` answers 200 (GitHub's status for
GraphQL; REST's is 403, give ``status`` to choose) with ``{"errors": [{"type": "RATE_LIMITED", ...}]}`` and spent
``x-ratelimit-*`` headers; ``secondary_rate_limit`` is REST's 403 with ``retry-after``; ``partial_data`` (GraphQL
only) answers 200 with the data and an ``errors`` entry for one field nulled on the way (``field``: the first field
answered under that name, default the first connection nested in another one, else the first connection, else the
first root field). ``validation_failed`` and ``malformed_item`` are for REST only.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

PRIMARY_MESSAGE = "API rate limit exceeded for user ID {user_id}."
SECONDARY_MESSAGE = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SPOILING = {
    "damaged_body": ("truncated", "not_json", "wrong_shape"),
    "cut_body": ("length", "chunked", "bad_gzip"),
    "malformed_item": ("",),
}
GRAPHQL_PATH = "/graphql"  # what faults see of a GraphQL request
GRAPHQL_ONLY = ("partial_data",)
REST_ONLY = ("validation_failed", "malformed_item")
KINDS = ("server_error", "validation_failed", "primary_rate_limit", "secondary_rate_limit", *SPOILING, *GRAPHQL_ONLY)
ALLOWED_STATUSES = {
    "server_error": (500, 502, 503),
    "validation_failed": (422,),
    "primary_rate_limit": (200, 403, 429),
    "secondary_rate_limit": (403, 429),
    **{kind: (200,) for kind in (*SPOILING, *GRAPHQL_ONLY)},
}
DEFAULT_STATUS = {
    "server_error": 502,
    "validation_failed": 422,
    "primary_rate_limit": 0,  # GitHub's for the surface: 403 (REST), 200 (GraphQL)
    "secondary_rate_limit": 403,
    **{kind: 200 for kind in (*SPOILING, *GRAPHQL_ONLY)},
}


@dataclass(slots=True)
class Fault:
    kind: str
    count: int = 1  # requests affected
    after: int = 0  # matching API requests to let through first
    status: int = 0
    reset_in: float = 2.0  # primary: x-ratelimit-reset = now + reset_in
    retry_after: int = 1  # secondary: retry-after header
    path_contains: str | None = None
    method: str | None = None  # GET, POST, ...; any method when None
    message: str = ""  # validation_failed: the 422's message
    take_effect: bool = False  # serve the request, then answer with the fault anyway
    damage: str = ""  # damaged_body / cut_body: how (see the module's docstring)
    patch: dict[str, Any] | None = None  # malformed_item: fields replaced in the object
    index: int = 0  # malformed_item: which object of the list
    nodes_over: int = 0  # GraphQL: only a query that may return more nodes than this (0: any)
    field: str | None = None  # partial_data: the field that fails (see the module's docstring)

    @property
    def spoils(self) -> bool:
        """The real answer is served, then spoilt (rather than replaced by an error)."""
        return self.kind in SPOILING or self.kind in GRAPHQL_ONLY

    def matches(self, method: str, path: str, nodes: int | None = None) -> bool:
        """``nodes``: a GraphQL query's node count (None for a REST request)."""
        graphql = path == GRAPHQL_PATH
        if (self.kind in GRAPHQL_ONLY and not graphql) or (self.kind in REST_ONLY and graphql):
            return False
        if self.nodes_over and (nodes is None or nodes <= self.nodes_over):
            return False
        return (self.path_contains is None or self.path_contains in path) and (
            self.method is None or self.method == method
        )


class Faults:
    """Queued failures for API requests: ``add`` one, ``clear`` all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self,
        kind: str,
        count: int = 1,
        after: int = 0,
        status: int | None = None,
        reset_in: float = 2.0,
        retry_after: int = 1,
        path_contains: str | None = None,
        method: str | None = None,
        message: str | None = None,
        take_effect: bool = False,
        damage: str | None = None,
        patch: dict[str, Any] | None = None,
        index: int = 0,
        nodes_over: int = 0,
        field: str | None = None,
    ) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        damage = str(damage or SPOILING.get(kind, ("",))[0])
        if damage not in SPOILING.get(kind, ("",)):
            raise ValueError(f"damage {damage!r} is not valid for {kind}")
        if (patch is not None) != (kind == "malformed_item") or (patch is not None and not isinstance(patch, dict)):
            raise ValueError("patch (an object) is for malformed_item, and it needs one")
        status = int(status or DEFAULT_STATUS[kind])
        if status not in ALLOWED_STATUSES[kind] and not (status == 0 and kind == "primary_rate_limit"):
            raise ValueError(f"status {status} is not valid for {kind}")
        if int(count) < 1 or int(after) < 0:
            raise ValueError("count must be >= 1 and after >= 0")
        if message and kind != "validation_failed":
            raise ValueError("message is only for validation_failed")
        if field and kind != "partial_data":
            raise ValueError("field is only for partial_data")
        if int(nodes_over) < 0:
            raise ValueError("nodes_over must be >= 0")
        fault = Fault(
            kind,
            int(count),
            int(after),
            status,
            float(reset_in),
            int(retry_after),
            path_contains or None,
            method.upper() if method else None,
            str(message or ("Validation Failed" if kind == "validation_failed" else "")),
            bool(take_effect),
            damage,
            patch,
            int(index),
            int(nodes_over),
            str(field) if field else None,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str, nodes: int | None = None) -> Fault | None:
        """The fault this request must suffer, if any (consumes one of its ``count``); ``nodes``: a GraphQL query's
        node count."""
        with self._lock:
            if not self._faults:
                return None
            chosen: Fault | None = None
            for fault in self._faults:
                if not fault.matches(method, path, nodes):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                elif chosen is None:
                    chosen = fault
            if chosen is None:
                return None
            chosen.count -= 1
            if chosen.count <= 0:
                self._faults.remove(chosen)
            return Fault(**asdict(chosen))

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._faults]

    def __len__(self) -> int:
        return len(self._faults)


def spoil_body(fault: Fault, body: bytes) -> bytes:
    """The body a spoiling fault sends instead of `body` (a real 200's JSON); cut_body cuts on the wire."""
    if fault.kind == "malformed_item":
        data = json.loads(body)
        if isinstance(data, dict) and "total_count" not in data:
            data.update(fault.patch or {})  # a single object
        else:  # a list, or a search-style object holding one (`{"total_count": n, "workflow_runs": [...]}`)
            items = data if isinstance(data, list) else next((v for v in data.values() if isinstance(v, list)), [])
            if fault.index < len(items) and isinstance(items[fault.index], dict):
                items[fault.index].update(fault.patch or {})
        return json.dumps(data, separators=(",", ":")).encode()
    if fault.kind == "damaged_body":
        if fault.damage == "truncated":
            return body[: len(body) // 2]
        if fault.damage == "not_json":
            return b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        data = json.loads(body)
        wrong: Any = {"items": data} if isinstance(data, list) else [data]
        return json.dumps(wrong).encode()
    return body


class Stats:
    """Counts of API requests (``/api/v3`` and ``/api/graphql``) and the GraphQL points they spent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests = 0
            self.not_modified = 0
            self.errors = 0
            self.graphql_points = 0
            self.by_route: Counter[str] = Counter()

    def record(self, route: str, status: int) -> None:
        with self._lock:
            self.requests += 1
            self.by_route[route] += 1
            if status == 304:
                self.not_modified += 1
            elif status >= 400:
                self.errors += 1

    def spend(self, points: int) -> None:
        """A GraphQL query's cost, charged to the budget."""
        with self._lock:
            self.graphql_points += points

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "not_modified": self.not_modified,
                "errors": self.errors,
                "graphql_points": self.graphql_points,
                "by_route": dict(sorted(self.by_route.items())),
            }


@dataclass(slots=True)
class RateWindow:
    limit: int
    used: int
    reset: int  # epoch seconds
    resource: str = "core"  # "graphql": points, not requests

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def headers(self) -> list[tuple[str, str]]:
        return [
            ("x-ratelimit-limit", str(self.limit)),
            ("x-ratelimit-remaining", str(self.remaining)),
            ("x-ratelimit-reset", str(self.reset)),
            ("x-ratelimit-used", str(self.used)),
            ("x-ratelimit-resource", self.resource),
        ]

    def as_json(self) -> dict[str, int]:
        return {"limit": self.limit, "used": self.used, "remaining": self.remaining, "reset": self.reset}


class RateLimiter:
    """GitHub's primary rate limit: ``hourly_budget`` requests (GraphQL: points) per identity per hour-long window."""

    def __init__(self, hourly_budget: int, window_seconds: int = 3600, resource: str = "core") -> None:
        self.hourly_budget = hourly_budget
        self.window_seconds = window_seconds
        self.resource = resource
        self._lock = threading.Lock()
        self._windows: dict[Any, RateWindow] = {}

    def _window(self, key: Any) -> RateWindow:
        now = time.time()
        window = self._windows.get(key)
        if window is None or now >= window.reset:
            window = RateWindow(self.hourly_budget, 0, math.ceil(now + self.window_seconds), self.resource)
            self._windows[key] = window
        return window

    def peek(self, key: Any) -> RateWindow:
        with self._lock:
            w = self._window(key)
            return RateWindow(w.limit, w.used, w.reset, w.resource)

    def consume(self, key: Any, amount: int = 1) -> RateWindow:
        with self._lock:
            w = self._window(key)
            w.used = min(w.limit, w.used + amount)
            return RateWindow(w.limit, w.used, w.reset, w.resource)

    def reset(self, hourly_budget: int | None = None) -> None:
        with self._lock:
            if hourly_budget is not None:
                self.hourly_budget = hourly_budget
            self._windows.clear()
