"""Posting signed deliveries the way GitHub does, for the webhook tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

from django.test import Client

from tests.conftest import GITHUB_FIXTURES

EXAMPLES = GITHUB_FIXTURES / "webhook-examples"
SECRET = "test-webhook-secret"  # pyproject.toml's pytest env
URL = "/webhooks/github/"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_delivery(
    client: Client,
    event: str,
    payload: dict[str, Any] | bytes,
    *,
    guid: str | None = None,
    secret: str = SECRET,
    signature: str | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    all_headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": guid or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "42",
        "X-Hub-Signature-256": signature if signature is not None else sign(body, secret),
        "User-Agent": "GitHub-Hookshot/abc1234",
        **(headers or {}),
    }
    return client.post(URL, data=body, content_type="application/json", headers=all_headers)


def example_files() -> list[Path]:
    return sorted(p for p in EXAMPLES.rglob("*.json"))


def example(event: str, name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / event / name).read_text())
