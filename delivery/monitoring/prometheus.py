"""The one way Trunkline reads Prometheus: `GET /api/v1/query_range` over `requests`, a timeout on every call, the
bearer token from PROMETHEUS_BEARER_TOKEN. An answer becomes the points of one series; an error, a refusal or an
answer that is not a range query's result becomes a SignalReadError in words (the watch then says why it cannot
judge). Prometheus's HTTP API: https://prometheus.io/docs/prometheus/latest/querying/api/#range-queries"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import requests
from django.conf import settings

from delivery.monitoring.signal_http import SignalReadError, get_json

Point = tuple[float, float]
"""(Unix time, value)."""


class PrometheusClient:
    def __init__(self, *, base_url: str, token: str = "", timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    @classmethod
    def from_settings(cls, base_url: str) -> PrometheusClient:
        return cls(
            base_url=base_url, token=settings.PROMETHEUS_BEARER_TOKEN, timeout=settings.PROMETHEUS_TIMEOUT_SECONDS
        )

    def close(self) -> None:
        self.session.close()

    def query_range(self, query: str, *, start: datetime, end: datetime, step: int) -> list[Point]:
        """The one series `query` gives from `start` to `end` every `step` seconds, oldest first, without the points
        that are not numbers (NaN: a ratio of nothing over nothing). No series at all is no data: []."""
        params = {
            "query": query,
            "start": f"{start.timestamp():.3f}",
            "end": f"{end.timestamp():.3f}",
            "step": str(step),
            "timeout": f"{self.timeout:g}s",
        }
        url = f"{self.base_url}/api/v1/query_range"
        status, data, _ = get_json(self.session, url, params=params, timeout=self.timeout, source="Prometheus")
        if not isinstance(data, dict):
            raise SignalReadError(f"Prometheus answered {status} with something that is not a query's answer")
        if data.get("status") != "success":
            raise SignalReadError(_refusal(status, data))
        return _series(data.get("data"))


def _refusal(status: int, data: dict[str, Any]) -> str:
    """Prometheus's error in its own words: 400 bad_data (a query that does not parse), 422 execution, 503
    timeout or canceled; a proxy in front may answer 401/403 without Prometheus's shape."""
    if status in (401, 403):
        return f"Prometheus refused the request ({status}): check PROMETHEUS_BEARER_TOKEN"
    kind, error = str(data.get("errorType") or ""), str(data.get("error") or "")
    if kind or error:
        return f"Prometheus answered {status}: {kind + ': ' if kind else ''}{error}"[:300]
    return f"Prometheus answered {status} with something that is not a query's answer"


def _series(data: Any) -> list[Point]:
    if not isinstance(data, dict) or data.get("resultType") != "matrix" or not isinstance(data.get("result"), list):
        raise SignalReadError("Prometheus's answer is not a range query's result (no matrix in data.result)")
    result = data["result"]
    if not result:
        return []
    if len(result) > 1:
        raise SignalReadError(
            f"The query gives {len(result)} series; the watch judges one: aggregate it (sum(…), max(…) or by ())"
        )
    values = result[0].get("values") if isinstance(result[0], dict) else None
    if not isinstance(values, list):
        raise SignalReadError("Prometheus's series has no values")
    points: list[Point] = []
    for pair in values:
        try:
            moment, value = float(pair[0]), float(pair[1])
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            shown = repr(pair)[:60]
            raise SignalReadError(f'Prometheus\'s series has a point that is not [time, "value"]: {shown}') from exc
        if math.isfinite(value) and math.isfinite(moment):
            points.append((moment, value))
    return points
