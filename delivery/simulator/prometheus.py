"""A Prometheus for the simulated services: `GET /api/v1/query_range` and `GET /api/v1/query` in Prometheus's HTTP
API shape, so the watch's real client reads the demo's production as it would read a real Prometheus.

Every repository is a service with two series, as recording rules would give them:
`http_error_ratio{service="<repository>", environment="production"}` (a ratio, 0 to 1) and
`http_request_duration_p95_seconds{…}`. They move with the world's production deployments: a deployment that
failed hurts both until a later one succeeds (a half-done rollout), and one release in six is bad once live
(its sha decides: its error ratio or its latency jumps) until the next one replaces it. Between, they wander a
little around a steady level. Queries are selectors only (`name{label="value", …}`, `=` matchers on `service` and
`environment`); anything else is refused as Prometheus refuses a query it cannot parse (400, `bad_data`)."""

from __future__ import annotations

import hashlib
import math
import re
from bisect import bisect_right
from datetime import datetime
from typing import Any

from .models import Deployment, Repository
from .world import World

ERROR_RATIO, LATENCY = "http_error_ratio", "http_request_duration_p95_seconds"
ENVIRONMENT = "production"
MAX_POINTS = 11_000  # Prometheus's own limit per series
SELECTOR = re.compile(r"^\s*(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(?P<labels>[^{}]*)\})?\s*$")
MATCHER = re.compile(r'\s*(?P<label>[a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*(?:,|$)')
DURATION = re.compile(r"^(?P<n>\d+(?:\.\d+)?)(?P<unit>ms|s|m|h|d)$")
SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
STEADY = {ERROR_RATIO: (0.003, 0.001), LATENCY: (0.18, 0.015)}  # (level, how far it wanders)
HURT = {ERROR_RATIO: 0.06, LATENCY: 0.55}  # a failed deploy
BAD = {ERROR_RATIO: 0.035, LATENCY: 0.42}  # a bad release


class QueryError(Exception):
    """A request Prometheus would refuse: (status, errorType, error)."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind = status, kind


def answer(world: World, path: str, query: list[tuple[str, str]]) -> tuple[int, dict[str, Any]]:
    """The JSON Prometheus would answer at `path` (`/api/v1/query_range` or `/api/v1/query`)."""
    params = dict(query)
    try:
        name, labels = _selector(params.get("query", ""))
        if path.endswith("/query_range"):
            start, end, step = _time(params, "start"), _time(params, "end"), _step(params.get("step", ""))
            if end < start:
                raise QueryError(400, "bad_data", "end timestamp must not be before start time")
            if (end - start) / step > MAX_POINTS:
                raise QueryError(400, "bad_data", "exceeded maximum resolution of 11,000 points per timeseries")
            moments = [start + i * step for i in range(int((end - start) // step) + 1)]
            series = _series(world, name, labels, moments)
            result = [{"metric": m, "values": [[round(t, 3), _text(v)] for t, v in points]} for m, points in series]
            return 200, {"status": "success", "data": {"resultType": "matrix", "result": result}}
        moment = _time(params, "time") if "time" in params else world.clock().timestamp()
        series = _series(world, name, labels, [moment])
        samples = [{"metric": m, "value": [round(t, 3), _text(v)]} for m, points in series for t, v in points]
        return 200, {"status": "success", "data": {"resultType": "vector", "result": samples}}
    except QueryError as error:
        return error.status, {"status": "error", "errorType": error.kind, "error": str(error)}


def _selector(text: str) -> tuple[str, dict[str, str]]:
    match = SELECTOR.match(text)
    if not text.strip() or match is None:
        words = 'the simulator answers selectors only, name{label="value"}'
        raise QueryError(400, "bad_data", f'invalid parameter "query": {words}: {text[:80]!r}')
    labels: dict[str, str] = {}
    rest = (match["labels"] or "").strip()
    while rest:
        found = MATCHER.match(rest)
        if found is None:
            raise QueryError(400, "bad_data", f'invalid parameter "query": unexpected matcher in {rest[:60]!r}')
        labels[found["label"]] = found["value"]
        rest = rest[found.end() :].strip()
    return match["name"], labels


def _time(params: dict[str, str], key: str) -> float:
    value = params.get(key, "")
    try:
        return float(value)
    except ValueError:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            words = f'invalid parameter "{key}": cannot parse "{value}" to a valid timestamp'
            raise QueryError(400, "bad_data", words) from None


def _step(value: str) -> float:
    try:
        step = float(value)
    except ValueError:
        match = DURATION.match(value)
        if match is None:
            words = f'invalid parameter "step": cannot parse "{value}" to a valid duration'
            raise QueryError(400, "bad_data", words) from None
        step = float(match["n"]) * SECONDS[match["unit"]]
    if step <= 0:
        raise QueryError(400, "bad_data", "zero or negative query resolution step widths are not accepted")
    return step


def _series(
    world: World, name: str, labels: dict[str, str], moments: list[float]
) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
    if name not in STEADY or labels.get("environment", ENVIRONMENT) != ENVIRONMENT:
        return []
    with world.lock:
        repos = [r for r in world.served_repos if labels.get("service") in (None, r.name)]
        timelines = [(repo, _timeline(repo)) for repo in repos]
    found = []
    for repo, timeline in timelines:
        points = [(t, _value(name, repo.name, timeline, t)) for t in moments]
        metric = {"__name__": name, "service": repo.name, "environment": ENVIRONMENT}
        found.append((metric, points))
    return found


Timeline = tuple[list[float], list[str]]
"""The moments production changed and what it was from each: "ok", "hurt" (a failed deploy), "bad-<signal>"."""


def _timeline(repo: Repository) -> Timeline:
    events: list[tuple[float, str]] = []
    for deployment in repo.deployments.values():
        if deployment.environment != ENVIRONMENT:
            continue
        for status in deployment.statuses:
            if status.state == "failure":
                events.append((status.created_at.timestamp(), "hurt"))
            elif status.state == "success":
                events.append((status.created_at.timestamp(), _release_health(deployment)))
    events.sort()
    return [at for at, _ in events], [state for _, state in events]


def _release_health(deployment: Deployment) -> str:
    """One release in six is bad once live (not a rollback: that goes back to one that was good)."""
    if deployment.payload.get("rollback") or deployment.description.lower().startswith("rollback"):
        return "ok"
    digest = int(deployment.sha[:8], 16)
    if digest % 6:
        return "ok"
    return f"bad-{ERROR_RATIO if digest % 12 == 0 else LATENCY}"


def _value(name: str, service: str, timeline: Timeline, moment: float) -> float:
    level, wander = STEADY[name]
    index = bisect_right(timeline[0], moment) - 1
    state = timeline[1][index] if index >= 0 else "ok"
    if state == "hurt":
        level = HURT[name]
    elif state == f"bad-{name}":
        level = BAD[name]
    minute = int(moment // 60)
    noise = int(hashlib.md5(f"{service}:{name}:{minute}".encode(), usedforsecurity=False).hexdigest()[:4], 16)
    drift = (noise / 0xFFFF - 0.5) * 2 * wander + math.sin(moment / 600) * wander / 2
    return max(level + drift * (level / STEADY[name][0]) ** 0.5, 0.0)


def _text(value: float) -> str:
    return f"{value:.6g}"
