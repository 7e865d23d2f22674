"""What a GitHub delivery's headers must be before Trunkline stores it (a GUID longer than its column is answered with
a 4xx and a reason, never cut); what every delivery's body must be is delivery.core.payloads', re-exported here."""

from __future__ import annotations

import re
from typing import Any, TypeGuard, cast

from delivery.core.payloads import MAX_DEPTH, MalformedDelivery, payload_parse, storable_text, unstorable_text
from delivery.github.models import WebhookDelivery

__all__ = [
    "EVENT_LENGTH",
    "GUID_LENGTH",
    "MAX_DEPTH",
    "MalformedDelivery",
    "header_token",
    "is_github_id",
    "payload_parse",
    "storable_text",
    "unstorable_text",
]


GUID_LENGTH = cast(int, WebhookDelivery._meta.get_field("guid").max_length)  # both CharFields: set
EVENT_LENGTH = cast(int, WebhookDelivery._meta.get_field("event").max_length)

_HEADER_TOKEN = re.compile(r"[\x21-\x7e]+")  # GitHub's GUIDs and event names: printable ASCII, no spaces


def header_token(value: str, *, header: str, max_length: int) -> str:
    """A delivery's GUID or event name as sent, or MalformedDelivery: never cut to fit (two long GUIDs sharing
    their first hundred characters would collide, and the second be dropped as a duplicate)."""
    if not value:
        raise MalformedDelivery(f"missing {header} header")
    if len(value) > max_length:
        raise MalformedDelivery(f"{header} header is longer than {max_length} characters")
    if not _HEADER_TOKEN.fullmatch(value):
        raise MalformedDelivery(f"{header} header holds characters other than printable ASCII")
    return value


def is_github_id(value: Any) -> TypeGuard[int]:
    """An id a BIGINT column can be compared with, as GitHub's are (not a bool, not a 30-digit number)."""
    return type(value) is int and -(2**63) <= value < 2**63
