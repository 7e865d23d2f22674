"""Filters for a stored report's values (ISO times and the keys' units, as the snapshot keeps them)."""

from __future__ import annotations

from typing import Any

from django import template

from delivery.reports.exports import key_value as _key_value
from delivery.reports.talking import duration

register = template.Library()


@register.filter
def key_value(key: dict[str, Any]) -> str:
    return _key_value(key)


@register.filter
def short_seconds(value: float | None) -> str:
    return duration(value)
