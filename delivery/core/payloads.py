"""What a signed webhook request must be before Trunkline stores it, and what a stored body must be before a handler
reads it: the same for every service that sends Trunkline webhooks (GitHub, ClickUp).

A valid signature proves who sent the bytes, not that they are sane. A body no service would send (nested thousands
of levels deep, a NUL character where PostgreSQL stores text) is answered with a 4xx and a reason, or stored and
failed with the reason: never a 5xx, which the sender (and Trunkline's own recovery) would send again and again."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from typing import Any


class MalformedDelivery(ValueError):
    """A signed request that is not a delivery Trunkline can read (the message says what is wrong)."""


MAX_DEPTH = 64
"""Webhook payloads nest about ten levels deep; far deeper is not a delivery, and would take Python's recursion
(the JSON parser, the operator's pretty-printed view) to its limit."""

_NOT_STORABLE = re.compile("[\x00\ud800-\udfff]")
"""What no text column takes: NUL (PostgreSQL refuses it) and unpaired surrogates (no UTF-8 encoding; JSON's
`\\ud800` escapes produce them)."""


def hmac_sha256_hex(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of the raw body: how GitHub (after "sha256=") and ClickUp sign their deliveries."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(expected: str, header: str) -> bool:
    """Compared in constant time, as bytes (a header with characters outside ASCII is simply wrong, not an
    error); an empty header never matches."""
    return bool(header) and hmac.compare_digest(expected.encode(), header.encode("utf-8", "replace"))


def payload_parse(body: bytes) -> dict[str, Any]:
    """The delivery's JSON object, or MalformedDelivery saying why not."""
    try:
        payload = json.loads(body)
    except RecursionError as exc:
        raise MalformedDelivery(f"body is not a delivery: JSON nested deeper than {MAX_DEPTH} levels") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedDelivery(f"body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise MalformedDelivery("body is not a JSON object")
    if _deeper_than(payload, MAX_DEPTH):
        raise MalformedDelivery(f"body is not a delivery: JSON nested deeper than {MAX_DEPTH} levels")
    return payload


def storable_text(value: str, limit: int) -> str:
    """`value` for a text column: what none can hold becomes U+FFFD (so an odd action never turns into a handled
    one), then cut to the column's length."""
    return _NOT_STORABLE.sub("\ufffd", value)[:limit]


def unstorable_text(payload: Any) -> str:
    """Where a payload holds a key or string no database takes, in words (`repository.full_name holds a NUL
    character`), else "". Checked before any handler runs, so such a delivery fails the same way on every
    database, with the reason, instead of midway through its writes."""
    for path, value in _nodes(payload):
        if isinstance(value, str) and (found := _NOT_STORABLE.search(value)):
            what = "a NUL character" if found.group() == "\x00" else "an unpaired surrogate"
            where = storable_text(".".join(str(p) for p in path), 200) or "the body"
            return f"{where} holds {what}, which cannot be stored"
    return ""


def _deeper_than(payload: Any, limit: int) -> bool:
    """Whether containers nest deeper than `limit`; iterative, and it visits containers only (the endpoint's
    answer waits for it)."""
    stack: list[tuple[Any, int]] = [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        items = value.values() if isinstance(value, dict) else value
        stack.extend((item, depth + 1) for item in items if isinstance(item, dict | list))
    return False


def _nodes(payload: Any) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every value of a JSON document with its path, keys included (as the value at their own path); iterative,
    so no depth exhausts Python's stack."""
    stack: list[tuple[tuple[Any, ...], Any]] = [((), payload)]
    while stack:
        path, value = stack.pop()
        yield path, value
        if isinstance(value, dict):
            for key, item in value.items():
                stack.append(((*path, key), key))
                stack.append(((*path, key), item))
        elif isinstance(value, list):
            stack.extend(((*path, i), item) for i, item in enumerate(value))
