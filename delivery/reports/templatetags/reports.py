"""Filters for a stored report's values (ISO times and the keys' units, as the snapshot keeps them)."""

from __future__ import annotations

from typing import Any

from django import template

from delivery.reports.agreements import amount as _amount
from delivery.reports.agreements import rows_over as _rows_over
from delivery.reports.exports import key_value as _key_value
from delivery.reports.talking import duration

register = template.Library()


@register.filter
def key_value(key: dict[str, Any]) -> str:
    return _key_value(key)


@register.filter
def short_seconds(value: float | None) -> str:
    return duration(value)


@register.filter
def amount(value: float, unit: str) -> str:
    """An agreement's N as typed, with its unit."""
    return _amount(value, unit)


@register.simple_tag
def rows_over(kind: str, over: int, counted: int) -> str:
    return _rows_over(kind, over, counted)
