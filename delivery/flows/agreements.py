"""The working agreements' nudges, as time passes: a change in flight 75 % and 90 % of the way to an agreement's
limit (a first review within N working hours, a branch age) is told to its owner on Slack, once per level (the
notice's dedupe key is the agreement, the change and the level). Its owner's queue shows it meanwhile
(delivery.web.queues)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from delivery.core.calendar import working_calendar
from delivery.flows import notices
from delivery.pipeline.models import Change
from delivery.reports.agreements import NUDGE_LEVELS, OPEN_STAGES, agreements_in_force, nudges_of


def agreement_nudges_told(*, now: datetime | None = None) -> int:
    """Tell each owner once per change, agreement and level reached; how many notices were new."""
    now = now or timezone.now()
    agreements = agreements_in_force()
    if not agreements:
        return 0
    calendar = working_calendar()
    changes = (
        Change.objects.filter(stage__in=OPEN_STAGES, author__isnull=False, author__is_bot=False)
        .select_related("repository", "author", "pull_request")
        .order_by("pk")
    )
    told = 0
    for change in changes:
        for nudge in nudges_of(change, agreements, now=now, calendar=calendar):
            if nudge.level in NUDGE_LEVELS and notices.agreement_nudge(change, nudge) is not None:
                told += 1
    return told
