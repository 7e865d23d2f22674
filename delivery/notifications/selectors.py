"""Reads of the notification log, for the pages that show notices ("logged and shown in the app")."""

from __future__ import annotations

from django.db.models import QuerySet

from delivery.notifications.models import Notification


def notification_list(*, repository_id: int | None = None, limit: int = 50) -> QuerySet[Notification]:
    """The newest notices first, optionally of one repository; not the history a sync read late (never sent)."""
    notices = Notification.objects.select_related("repository").exclude(outcome=Notification.Outcome.HISTORY)
    if repository_id is not None:
        notices = notices.filter(repository_id=repository_id)
    return notices.order_by("-event_at", "-pk")[:limit]
