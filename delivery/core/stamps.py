"""Stamps: a number per kind of data that moves (once the writing transaction commits) whenever that data is
written, so an answer cached under the stamp it was computed at is never read after a write that could change it.
Kept in Django's cache (Redis in production, beside what it stamps): a stamp the cache lost starts again from the
clock, never from a number an older answer was cached under."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db import connection, transaction

FIGURES = "figures"
"""What the metrics and the reports count: changes, releases, deployments, watches, rollbacks, reviews, people and
teams, the repositories followed and their production environment."""


def _key(kind: str) -> str:
    # One cache may serve several Trunklines (or test databases): each database has its own stamps.
    return f"stamp:{connection.settings_dict['NAME']}:{kind}"


def stamp(kind: str) -> int:
    """The stamp of `kind` now."""
    key = _key(kind)
    cache.add(key, time.time_ns(), timeout=None)
    value = cache.get(key)
    return int(value) if value is not None else time.time_ns()


def stamp_move(kind: str) -> None:
    """`kind` was written: once the transaction commits (at once outside one), its stamp moves on."""
    key = _key(kind)

    def move() -> None:
        if not cache.add(key, time.time_ns(), timeout=None):
            try:
                cache.incr(key)
            except ValueError:  # gone between the two calls: a new stamp from the clock
                cache.add(key, time.time_ns(), timeout=None)

    transaction.on_commit(move)
