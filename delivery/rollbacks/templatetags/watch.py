"""The watch and the rollbacks, shown on the pipeline's pages (release, repository, board) without those
pages' views knowing about them: each tag reads what it shows through the selectors, in one or two queries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template
from django.utils import timezone

from delivery.accounts.roles import can_start_rollback
from delivery.github.models import Repository
from delivery.monitoring.selectors import watches_of_release
from delivery.pipeline.models import Release
from delivery.pipeline.selectors import release_owner_ids
from delivery.rollbacks.selectors import (
    live_release,
    rollback_of_deployment,
    rollbacks_of_repository,
    rollbacks_recent,
    rollbacks_undoing,
)

register = template.Library()
BOARD_ROLLBACKS_FOR = timedelta(hours=24)


@register.inclusion_tag("rollbacks/_release_watch.html", takes_context=True)
def release_watch(context: dict[str, Any], release: Release, owners: list[Any]) -> dict[str, Any]:
    """On a release page: its watches with countdowns, its rollbacks, and the Roll back button."""
    now = timezone.now()
    live = live_release(release.repository)
    live_owners = {o.pk for o in owners} if live is None or live.pk == release.pk else release_owner_ids(release=live)
    return {
        "release": release,
        "sessions": watches_of_release(release=release, now=now),
        "rollbacks": rollbacks_undoing(release=release),
        "rollback_itself": rollback_of_deployment(release.deployment_id) if release.is_rollback else None,
        "can_roll_back": release.environment == release.repository.production_environment
        and not release.repository.archived
        and release.repository.gone_since is None
        and can_start_rollback(context["request"].user, live_owners),
        "now": now,
    }


@register.inclusion_tag("rollbacks/_repository_rollbacks.html")
def repository_rollbacks(repository: Repository) -> dict[str, Any]:
    return {"rollbacks": rollbacks_of_repository(repository=repository, limit=10)}


@register.inclusion_tag("rollbacks/_board_rollbacks.html")
def board_rollbacks(repository: str = "") -> dict[str, Any]:
    """Rollbacks in flight and those of the last 24 hours, above the board's columns."""
    return {
        "rollbacks": rollbacks_recent(
            now=timezone.now(), within=BOARD_ROLLBACKS_FOR, repository_full_name=repository, limit=5
        )
    }
