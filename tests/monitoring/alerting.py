"""Alertmanager's webhook messages as Alertmanager 0.25 writes them (notify/webhook's Message over template.Data:
version "4", the group's receiver, status and labels, and its alerts with their status, labels, annotations,
startsAt, endsAt (Go's zero time while firing), generatorURL and fingerprint), and their delivery through the real
endpoint and the real processing flow."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from django.test import Client

from delivery.flows.incidents import alerts_received

TOKEN = "test-alertmanager-token"
GO_ZERO_TIME = "0001-01-01T00:00:00Z"


def rfc3339(moment: datetime) -> str:
    """As Go writes a time.Time in JSON (RFC 3339 with nanoseconds, UTC as Z)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def alert(
    labels: dict[str, str],
    *,
    starts_at: datetime,
    ends_at: datetime | None = None,
    summary: str = "",
    status: str | None = None,
) -> dict[str, Any]:
    """One alert of a message: resolved when it has an end."""
    return {
        "status": status or ("resolved" if ends_at else "firing"),
        "labels": labels,
        "annotations": {"summary": summary} if summary else {},
        "startsAt": rfc3339(starts_at),
        "endsAt": rfc3339(ends_at) if ends_at else GO_ZERO_TIME,
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=up",
        "fingerprint": hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16],
    }


def message(*alerts: dict[str, Any], receiver: str = "trunkline") -> dict[str, Any]:
    common = (
        {k: v for k, v in alerts[0]["labels"].items() if all(a["labels"].get(k) == v for a in alerts)} if alerts else {}
    )
    return {
        "receiver": receiver,
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "alerts": list(alerts),
        "groupLabels": {"alertname": common.get("alertname", "")},
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "version": "4",
        "groupKey": '{}:{alertname="' + common.get("alertname", "") + '"}',
        "truncatedAlerts": 0,
    }


def post(body: bytes | dict[str, Any], *, token: str = TOKEN, **headers: str) -> Any:
    """POST to the endpoint as Alertmanager does (bearer auth unless headers say otherwise)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return Client().post("/webhooks/alertmanager/", raw, content_type="application/json", headers={**auth, **headers})


def deliver(*alerts: dict[str, Any]) -> str:
    """Post a message of these alerts and process it as the task would; returns the outcome."""
    answer = post(message(*alerts))
    assert answer.status_code in (200, 202), answer.content
    return alerts_received(delivery_id=answer.json()["delivery"])
