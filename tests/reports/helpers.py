"""Weeks built by hand for the report: the metrics' History (tests/metrics/history.py), plus rollbacks recorded as
the rollback flow records them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import get_user_model

from delivery.accounts.models import Team
from delivery.pipeline.models import Release
from delivery.pipeline.services import release_mark_failed
from delivery.rollbacks.models import Rollback
from tests.metrics.history import History, at

__all__ = ["History", "at", "rollback", "team"]


def rollback(h: History, undone: Release, target: Release, *, reason: str, minutes: float, by: str = "ana") -> Rollback:
    """A rollback asked at `minutes` that undid `undone` (marked failed with its reason, as the flow does)."""
    user, _ = get_user_model().objects.get_or_create(username=by)
    made = Rollback.objects.create(
        repository=h.repo,
        environment="production",
        from_release=undone,
        target_release=target,
        target_tag=target.tag_name or target.sha[:7],
        target_sha=target.sha,
        requested_by=user,
        reason=reason,
        method="workflow_dispatch",
        idempotency_key=f"rb-{undone.pk}",
        state=Rollback.State.SUCCEEDED,
    )
    Rollback.objects.filter(pk=made.pk).update(requested_at=at(minutes))
    made.releases_undone.add(undone)
    release_mark_failed(undone, reason=f"Rolled back: {reason}", now=at(minutes))
    return made


def team(slug: str, *members: Any) -> Team:
    made = Team.objects.create(
        github_id=abs(hash(slug)) % 1_000_000, slug=slug, name=slug.title(), synced_at=datetime(2026, 11, 1, tzinfo=UTC)
    )
    made.members.add(*members)
    return made
