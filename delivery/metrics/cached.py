"""Figures kept for a while: what was computed for a scope is kept in Django's cache under the figures' stamp
(delivery/core/stamps.py) and the settings the figures depend on, so a write that could change a figure (a sync, a
sign-off, a rollback, a corrected record) is never followed by the figure as it was. METRICS_CACHE_SECONDS bounds
what time alone moves; 0 computes every time."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache

from delivery.core.stamps import FIGURES, stamp
from delivery.metrics.scope import Scope

T = TypeVar("T")


def _key(name: str, scope: Scope) -> str:
    about = (
        name,
        stamp(FIGURES),
        scope.date_from.isoformat(),
        scope.date_to.isoformat(),
        tuple(scope.repository_ids),
        scope.developer.pk if scope.developer else None,
        scope.team.pk if scope.team else None,
        scope.include_bots,
        settings.TIME_ZONE,
        tuple(settings.METRICS_BOT_LOGINS),
        repr(sorted(settings.METRICS_LEVELS.items())),
        settings.SYNC_BACKFILL_DAYS,
    )
    return "metrics:" + hashlib.sha256(repr(about).encode()).hexdigest()


def remembered(name: str, scope: Scope, compute: Callable[[], T]) -> T:
    """`compute()` for `scope`, or what it gave for the same scope since the figures last changed."""
    seconds = settings.METRICS_CACHE_SECONDS
    if seconds <= 0:
        return compute()
    key = _key(name, scope)
    found = cache.get(key)
    if found is not None:
        return found
    value = compute()
    cache.set(key, value, seconds)
    return value
