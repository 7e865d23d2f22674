"""The delivery log of every hook: one record per attempt, as ``GET .../hooks/{id}/deliveries`` shows it.

GitHub keeps deliveries for 3 days; so does the simulator, in world time. A long live-mode demo
would still pile up payloads, so each hook also keeps at most ``MAX_PER_HOOK`` records (the oldest go).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .render import Json, iso
from .world import World

RETENTION = timedelta(days=3)
MAX_PER_HOOK = 5000


@dataclass(slots=True, eq=False)
class DeliveryRecord:
    id: int
    hook_id: int
    guid: str
    event: str
    action: str | None
    repository_id: int | None
    redelivery: bool
    delivered_at: datetime
    duration: float  # seconds
    status: str  # GitHub's wording: "OK", "Invalid HTTP Response: 503", "failed to connect to host", "timed out"
    status_code: int  # 0 when there was no HTTP response
    url: str  # where it was sent
    request_headers: dict[str, str]
    body: bytes  # the JSON payload as serialized at emit time (shared with redeliveries)
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str | None = None

    @property
    def succeeded(self) -> bool:
        """GitHub's ``status=success`` filter: a 2xx or 3xx answer; anything else (incl. none) is a failure."""
        return 200 <= self.status_code < 400

    def summary(self) -> Json:
        """The "Simple webhook delivery" of the list endpoint."""
        return {
            "id": self.id,
            "guid": self.guid,
            "delivered_at": iso(self.delivered_at),
            "redelivery": self.redelivery,
            "duration": self.duration,
            "status": self.status,
            "status_code": self.status_code,
            "event": self.event,
            "action": self.action,
            "installation_id": None,
            "repository_id": self.repository_id,
            "throttled_at": None,
        }

    def detail(self) -> Json:
        """The "Webhook delivery" of ``GET .../deliveries/{delivery_id}``: adds the request and the response."""
        data = self.summary()
        data["url"] = self.url
        data["request"] = {"headers": dict(self.request_headers), "payload": self.payload()}
        data["response"] = {"headers": dict(self.response_headers), "payload": self.response_body}
        return data

    def payload(self) -> Any:
        return json.loads(self.body)


class DeliveryLog:
    """Every hook's attempts, oldest first; thread-safe (the sender writes, HTTP handlers read)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._lock = threading.Lock()
        self._by_hook: dict[int, deque[DeliveryRecord]] = {}
        self._all: deque[DeliveryRecord] = deque(maxlen=4 * MAX_PER_HOOK)  # across hooks, for tests and control

    def add(self, record: DeliveryRecord) -> None:
        with self._lock:
            self._by_hook.setdefault(record.hook_id, deque(maxlen=MAX_PER_HOOK)).append(record)
            self._all.append(record)
            self._expire(self.world.clock() - RETENTION)

    def _expire(self, cutoff: datetime) -> None:
        for records in (*self._by_hook.values(), self._all):
            while records and records[0].delivered_at < cutoff:
                records.popleft()

    def entries(self, hook_id: int | None = None) -> list[DeliveryRecord]:
        """Oldest first; every hook's when ``hook_id`` is None."""
        with self._lock:
            return list(self._all if hook_id is None else self._by_hook.get(hook_id) or ())

    def newest_first(self, hook_id: int, status: str | None = None) -> list[DeliveryRecord]:
        records = self.entries(hook_id)
        records.reverse()
        if status == "success":
            return [r for r in records if r.succeeded]
        if status == "failure":
            return [r for r in records if not r.succeeded]
        return records

    def get(self, hook_id: int, delivery_id: int) -> DeliveryRecord | None:
        return next((r for r in self.entries(hook_id) if r.id == delivery_id), None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._all)

    def __iter__(self) -> Any:
        return iter(self.entries())
