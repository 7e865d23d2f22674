"""``/_simulator/*``: switches for tests and the demo, usable from another process.

- ``GET|POST|DELETE /_simulator/faults``   list / add ``{"kind", "count", "after", "status", "reset_in",
  "retry_after", "path_contains", "method", "message", "take_effect", "damage", "patch", "index"}`` / clear (see
  :mod:`faults`). E.g. the next workflow dispatch answers 500 once, then dispatches work again::

      {"kind": "server_error", "status": 500, "method": "POST", "path_contains": "/dispatches"}

  GitHub refusing it (422, nothing dispatched)::

      {"kind": "validation_failed", "method": "POST", "path_contains": "/actions/workflows/rollback.yml/dispatches",
       "message": "Workflow does not have 'workflow_dispatch' trigger"}

  creating a deployment fails once (not the GET of the same list; a status POST below it would match too)::

      {"kind": "server_error", "status": 500, "method": "POST", "path_contains": "/repos/acme/api/deployments"}

  and ``"take_effect": true`` makes GitHub act before answering with the fault (the dispatch ran, the client saw
  a 502). Answers GitHub spoils: ``{"kind": "damaged_body", "damage": "truncated" | "not_json" | "wrong_shape"}``,
  ``{"kind": "cut_body", "damage": "length" | "chunked" | "bad_gzip"}`` (the connection breaks inside the body),
  ``{"kind": "malformed_item", "patch": {"updated_at": "yesterday"}, "index": 0}`` (one object of a list).
  GraphQL (``POST /api/graphql``, matched as the path ``/graphql``): the timeout a large page meets,
  ``{"kind": "server_error", "status": 502, "nodes_over": 2000, "count": 100}`` (queries that may return more nodes);
  ``{"kind": "primary_rate_limit", "path_contains": "/graphql"}`` (200 with ``RATE_LIMITED``);
  ``{"kind": "secondary_rate_limit", "path_contains": "/graphql", "retry_after": 30}``;
  ``{"kind": "partial_data", "field": "reviews"}`` (200, that field null, an ``errors`` entry for it).
- ``GET /_simulator/stats``, ``POST /_simulator/stats/reset``  API requests (REST and GraphQL, by route) and the
  GraphQL points they spent (``graphql_points``)
- ``GET /_simulator/counts[?repo=acme/api]``
- ``POST /_simulator/tick``                 advance live activity one step now
- ``GET|POST /_simulator/switches``         e.g. ``{"fail_next_production_deploy": true}``: the next production
  deployment (dispatched workflow or created through the API) ends in ``failure``; ``fail_next_staging_deploy``
  likewise (see :mod:`dispatch`)
- ``GET /_simulator/timers``                what is in flight: ``{"pending": n, "next_due": iso | null}``
- ``POST /_simulator/timers/settle``        play out everything in flight now (a frozen clock moves along)
- ``POST /_simulator/rate_limit/reset``     fresh budgets, REST's and GraphQL's (optionally ``{"hourly_budget": n,
  "graphql_budget": points}``)
- ``GET|POST|DELETE /_simulator/webhooks/faults``  webhook delivery faults: list / add ``{"kind": "drop" |
  "duplicate" | "reorder", "count": n}`` / clear
- ``POST /_simulator/webhooks/flush``       wait until every queued delivery was attempted (``{"timeout": s}``,
  default 10; 409 while paused, 504 on timeout)
- ``POST /_simulator/webhooks/pause``, ``POST /_simulator/webhooks/resume``  hold / release deliveries
- ``GET /_simulator/webhooks/log[?hook_id=n]``  every delivery attempt (oldest first), with ``sent`` and ``pending``
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .render import iso

if TYPE_CHECKING:
    from .server import SimulatorServer

FAULT_FIELDS = (
    "kind",
    "count",
    "after",
    "status",
    "reset_in",
    "retry_after",
    "path_contains",
    "method",
    "message",
    "take_effect",
    "damage",
    "patch",
    "index",
    "nodes_over",
    "field",
)
WEBHOOK_FAULT_FIELDS = ("kind", "count")


class Control:
    def __init__(self, server: SimulatorServer) -> None:
        self.server = server

    def handle(self, method: str, path: str, query: list[tuple[str, str]], body: Any) -> tuple[int, Any]:
        route = path.removeprefix("/_simulator/").rstrip("/")
        data = body if isinstance(body, dict) else {}
        handler = {
            ("GET", "faults"): self._list_faults,
            ("POST", "faults"): self._add_fault,
            ("DELETE", "faults"): self._clear_faults,
            ("GET", "stats"): self._stats,
            ("POST", "stats/reset"): self._reset_stats,
            ("GET", "counts"): self._counts,
            ("POST", "tick"): self._tick,
            ("GET", "timers"): self._timers,
            ("POST", "timers/settle"): self._settle,
            ("GET", "switches"): self._switches,
            ("POST", "switches"): self._set_switches,
            ("POST", "rate_limit/reset"): self._reset_rate,
            ("GET", "webhooks/faults"): self._list_webhook_faults,
            ("POST", "webhooks/faults"): self._add_webhook_fault,
            ("DELETE", "webhooks/faults"): self._clear_webhook_faults,
            ("POST", "webhooks/flush"): self._flush_webhooks,
            ("POST", "webhooks/pause"): self._pause_webhooks,
            ("POST", "webhooks/resume"): self._resume_webhooks,
            ("GET", "webhooks/log"): self._webhook_log,
        }.get((method, route))
        if handler is None:
            return 404, {"message": "Not Found"}
        try:
            return handler(dict(query), data)
        except (TypeError, ValueError) as error:
            return 422, {"message": str(error)}

    def _list_faults(self, query: dict[str, str], data: dict[str, Any]) -> tuple[int, Any]:
        return 200, {"faults": self.server.faults.describe()}

    def _add_fault(self, query: dict[str, str], data: dict[str, Any]) -> tuple[int, Any]:
        unknown = sorted(set(data) - set(FAULT_FIELDS))
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(unknown)}")
        if "kind" not in data:
            raise ValueError("kind is required")
        self.server.faults.add(**data)
        return 201, {"faults": self.server.faults.describe()}

    def _clear_faults(self, query: dict[str, str], data: dict[str, Any]) -> tuple[int, Any]:
        self.server.faults.clear()
        return 204, None

    def _stats(self, query: dict[str, str], data: dict[str, Any]) -> tuple[int, Any]:
        return 200, self.server.stats.snapshot()

    def _reset_stats(self, query: dict[str, str], data: dict[str, Any]) -> tuple[int, Any]:
        self.server.stats.reset()
        return 200, self.server.stats.snapshot()

    def _counts(self, query: dict[str, str], data: dict[str, Any]) -> tuple[int, Any]:
        with self.server.world.lock:
            return 200, self.server.world.counts(query.get("repo"))

    def _tick(self, query: dict[str, str], data: dict[str, Any]) -> tuple[int, Any]:
        return 200, {"events": self.server.live.tick()}

    def _timers(self, query: dict[str, str], data: dict[str, Any]) -> tuple[int, Any]:
        world = self.server.world
        with world.lock:
            due = world.next_due
            return 200, {"pending": world.pending_timers, "next_due": iso(due) if due else None}

    def _settle(self, query: dict[str, str], data: dict[str, Any]) -> tuple[int, Any]:
        ran = self.server.world.settle()
        return 200, {"ran": ran, "pending": self.server.world.pending_timers}

    def _switches(self, query: dict[str, str], data: dict[str, Any]) -> tuple[int, Any]:
        return 200, dict(self.server.world.switches)

    def _set_switches(self, query: dict[str, str], data: dict[str, Any]) -> tuple[int, Any]:
        switches = self.server.world.switches
        unknown = sorted(set(data) - set(switches))
        if unknown:
            raise ValueError(f"unknown switches: {', '.join(unknown)}")
        with self.server.world.lock:
            switches.update({name: bool(value) for name, value in data.items()})
        return 200, dict(switches)

    def _reset_rate(self, query: dict[str, str], data: dict[str, Any]) -> tuple[int, Any]:
        budget, points = data.get("hourly_budget"), data.get("graphql_budget")
        self.server.rate.reset(int(budget) if budget is not None else None)
        self.server.graphql_rate.reset(int(points) if points is not None else None)
        return 200, {
            "hourly_budget": self.server.rate.hourly_budget,
            "graphql_budget": self.server.graphql_rate.hourly_budget,
        }

    # -- webhook delivery ------------------------------------------------------------------------
    def _list_webhook_faults(self, query: dict[str, str], data: dict[str, Any]) -> tuple[int, Any]:
        return 200, {"faults": self.server.webhooks.faults.describe()}

    def _add_webhook_fault(self, query: dict[str, str], data: dict[str, Any]) -> tuple[int, Any]:
        unknown = sorted(set(data) - set(WEBHOOK_FAULT_FIELDS))
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(unknown)}")
        if "kind" not in data:
            raise ValueError("kind is required")
        self.server.webhooks.faults.add(**data)
        return 201, {"faults": self.server.webhooks.faults.describe()}

    def _clear_webhook_faults(self, query: dict[str, str], data: dict[str, Any]) -> tuple[int, Any]:
        self.server.webhooks.faults.clear()
        return 204, None

    def _flush_webhooks(self, query: dict[str, str], data: dict[str, Any]) -> tuple[int, Any]:
        webhooks = self.server.webhooks
        try:
            webhooks.flush(float(data.get("timeout", 10.0)))
        except RuntimeError as error:
            return 409, {"message": str(error)}
        except TimeoutError as error:
            return 504, {"message": str(error)}
        return 200, {"sent": webhooks.sent, "pending": webhooks.pending}

    def _pause_webhooks(self, query: dict[str, str], data: dict[str, Any]) -> tuple[int, Any]:
        self.server.webhooks.pause()
        return 200, {"paused": True, "pending": self.server.webhooks.pending}

    def _resume_webhooks(self, query: dict[str, str], data: dict[str, Any]) -> tuple[int, Any]:
        self.server.webhooks.resume()
        return 200, {"paused": False, "pending": self.server.webhooks.pending}

    def _webhook_log(self, query: dict[str, str], data: dict[str, Any]) -> tuple[int, Any]:
        webhooks = self.server.webhooks
        hook_id = int(query["hook_id"]) if query.get("hook_id") else None
        deliveries = [{"hook_id": r.hook_id, **r.summary()} for r in webhooks.log.entries(hook_id)]
        return 200, {"sent": webhooks.sent, "pending": webhooks.pending, "deliveries": deliveries}
