"""Posting deliveries the way ClickUp does, for the webhook tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

SECRET = "clickup-test-secret"
URL = "/webhooks/clickup/"


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def status_item(status: str, *, at_ms: int | None = None, item_id: str = "", before: str = "to do") -> dict[str, Any]:
    """A `taskStatusUpdated` history item as ClickUp sends it."""
    at_ms = at_ms if at_ms is not None else int(time.time() * 1000)
    return {
        "id": item_id or f"28007{at_ms}",
        "type": 1,
        "date": str(at_ms),
        "field": "status",
        "parent_id": "162641062",
        "data": {"status_type": "custom"},
        "source": None,
        "user": {"id": 183, "username": "John", "email": "john@example.com"},
        "before": {"status": before, "color": "#d3d3d3", "orderindex": 0, "type": "open"},
        "after": {"status": status, "color": "#4194f6", "orderindex": 1, "type": "custom"},
    }


def body_of(event: str, task_id: str, *items: dict[str, Any], webhook_id: str = "7fa3ec74") -> bytes:
    payload = {"event": event, "task_id": task_id, "webhook_id": webhook_id, "history_items": list(items)}
    return json.dumps(payload).encode()


def post(client: Any, body: bytes, *, signature: str | None = None, secret: str = SECRET) -> Any:
    headers = {} if signature == "" else {"X-Signature": signature if signature is not None else sign(body, secret)}
    return client.post(URL, data=body, content_type="application/json", headers=headers)
