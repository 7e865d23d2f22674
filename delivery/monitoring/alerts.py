"""A watch left open: past its window and grace its owner is alerted once; still open
MONITORING_ESCALATION_MINUTES after that, on-call is alerted once."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from delivery.accounts.models import Developer
from delivery.accounts.oncall import on_call_now
from delivery.monitoring.models import MonitoringSession

logger = logging.getLogger(__name__)


class AlertHook(Protocol):
    def __call__(self, session: MonitoringSession, *, to_owner: bool, on_call: Developer | None) -> None: ...


def watches_overdue_alert(*, on_alert: AlertHook, now: datetime | None = None) -> tuple[int, int]:
    """Alert owners of watches past window end + grace, then on-call for those still open an escalation period
    after the owner's alert. Each alert is claimed with a conditional UPDATE (two sweeps never alert twice), and
    `on_alert(session, to_owner=…, on_call=…)` runs in the claim's transaction (the flow sends the notice there).
    Returns (owner alerts, on-call alerts)."""
    now = now or timezone.now()
    open_sessions = MonitoringSession.objects.filter(signed_off_at__isnull=True).select_related(
        "release", "release__repository", "owner"
    )
    owners = on_calls = 0
    for session in open_sessions.filter(owner_alerted_at__isnull=True):
        grace = timedelta(minutes=session.release.repository.monitoring_grace_minutes)
        if now < session.window_ends_at + grace:
            continue
        with transaction.atomic():
            if MonitoringSession.objects.filter(pk=session.pk, owner_alerted_at__isnull=True).update(
                owner_alerted_at=now
            ):
                owners += 1
                logger.info("watch %s overdue: its owner is told", session.pk)
                on_alert(session, to_owner=True, on_call=None)
    escalate = timedelta(minutes=settings.MONITORING_ESCALATION_MINUTES)
    due = open_sessions.filter(
        owner_alerted_at__isnull=False, on_call_alerted_at__isnull=True, owner_alerted_at__lte=now - escalate
    )
    person = None
    for session in due:
        with transaction.atomic():
            if MonitoringSession.objects.filter(pk=session.pk, on_call_alerted_at__isnull=True).update(
                on_call_alerted_at=now
            ):
                on_calls += 1
                person = person or on_call_now(now)
                logger.info("watch %s still overdue: on-call is told", session.pk)
                on_alert(session, to_owner=False, on_call=person.developer if person else None)
    return owners, on_calls
