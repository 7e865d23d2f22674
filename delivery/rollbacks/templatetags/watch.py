"""The watch and the rollbacks, shown on the pipeline's pages (release, repository, board) without those
pages' views knowing about them: each tag reads what it shows in one or two queries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template
from django.utils import timezone

from delivery.accounts.roles import can_start_rollback
from delivery.monitoring.models import MonitoringSession
from delivery.monitoring.selectors import watch_state
from delivery.rollbacks.models import Rollback
from delivery.rollbacks.selectors import live_release, rollback_of_deployment

register = template.Library()
BOARD_ROLLBACKS_FOR = timedelta(hours=24)


@register.inclusion_tag("rollbacks/_release_watch.html", takes_context=True)
def release_watch(context: dict[str, Any], release: Any, owners: list[Any]) -> dict[str, Any]:
    """On a release page: its watches with countdowns, its rollbacks, and the Roll back button."""
    now = timezone.now()
    sessions = list(
        MonitoringSession.objects.filter(releases=release)
        .select_related("owner", "signed_off_by", "release__repository")
        .prefetch_related("releases")
        .order_by("owner__login")
    )
    for session in sessions:
        session.state = watch_state(session, now)
    rollbacks = list(
        Rollback.objects.filter(releases_undone=release).select_related("requested_by").order_by("-requested_at")
    )
    user = context["request"].user
    live = live_release(release.repository)
    live_owners = (
        {o.pk for o in owners}
        if live is None or live.pk == release.pk
        else set(live.owners.values_list("pk", flat=True))
    )
    return {
        "release": release,
        "sessions": sessions,
        "rollbacks": rollbacks,
        "rollback_itself": rollback_of_deployment(release.deployment_id) if release.is_rollback else None,
        "can_roll_back": release.environment == release.repository.production_environment
        and not release.repository.archived
        and release.repository.gone_since is None
        and can_start_rollback(user, live_owners),
        "now": now,
    }


@register.inclusion_tag("rollbacks/_repository_rollbacks.html")
def repository_rollbacks(repository: Any) -> dict[str, Any]:
    return {
        "rollbacks": list(
            Rollback.objects.filter(repository=repository)
            .select_related("requested_by", "from_release")
            .order_by("-requested_at")[:10]
        )
    }


@register.inclusion_tag("rollbacks/_board_rollbacks.html")
def board_rollbacks(repository: str = "") -> dict[str, Any]:
    """Rollbacks in flight and those of the last 24 hours, above the board's columns."""
    rollbacks = Rollback.objects.filter(
        requested_at__gte=timezone.now() - BOARD_ROLLBACKS_FOR
    ) | Rollback.objects.filter(state__in=Rollback.IN_FLIGHT)
    if repository:
        rollbacks = rollbacks.filter(repository__full_name=repository)
    return {"rollbacks": list(rollbacks.select_related("repository", "requested_by").order_by("-requested_at")[:5])}
