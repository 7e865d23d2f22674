"""Template filters shared by Trunkline's pages."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    """A duration in the largest units that keep it readable: "180 ms", "4.2 s", "3 min", "2 h 5 min", "3 d"."""
    if value is None:
        return "—"
    seconds = value.total_seconds()
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))} ms"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{round(seconds)} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d"


@register.filter
def since(later: datetime | None, earlier: datetime | None) -> timedelta | None:
    """`later|since:earlier` → the time between them (None if either is missing)."""
    if later is None or earlier is None:
        return None
    return later - earlier
