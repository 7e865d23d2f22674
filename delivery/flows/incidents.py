"""Alertmanager's alerts arrived, or a repository's releases moved: what follows, in order."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from delivery.core.stamps import FIGURES, stamp_move
from delivery.flows import notices
from delivery.monitoring.alertmanager import Message, alert_delivery_process
from delivery.monitoring.incidents import Followed, alerts_record, incidents_follow


def alerts_received(*, delivery_id: int) -> str:
    """A stored Alertmanager delivery: claim it → record its alerts (new ones matched to a repository) → follow the
    incidents of each repository with production alerts in it (link each alert to the release live when it started,
    tell owners and on-call of each firing alert that joined an incident, and of each incident resolved) → mark it
    processed. All in one transaction with the claim, so it is processed at most once."""
    return alert_delivery_process(delivery_id=delivery_id, on_read=_record)


def _record(message: Message, delivery_id: int) -> str:
    recorded = alerts_record(message=message, delivery_id=delivery_id)
    for repository_id in sorted(recorded.repository_ids):
        incidents_followed(repository_id=repository_id)
    return recorded.words()


def incidents_followed(*, repository_id: int, now: datetime | None = None) -> Followed:
    """The repository's recent production alerts linked to the releases live when they started (again: a release may
    be learnt after its alert), their incidents brought up to date, and people told (each notice once)."""
    followed = incidents_follow(
        repository_id=repository_id,
        on_fired=notices.alert_fired,
        on_resolved=notices.incident_resolved,
        now=now or timezone.now(),
    )
    if followed.linked or followed.resolved:
        stamp_move(FIGURES)  # an incident fails its release; its resolution ends a recovery
    return followed
