"""Repositories GitHub no longer returns: deleted, transferred, or out of the token's sight. Such a repository
is marked gone (its history stays), shown as gone on every page, and asked for once a day instead of at every
periodic sync; it is back as soon as GitHub returns it again. Each change is one conditional UPDATE, so of two
workers noticing at once only one says so in the log, and only once."""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from delivery.github.models import Repository

logger = logging.getLogger(__name__)

NOT_FOUND = "Not found on GitHub (404): deleted, renamed, or not visible to this token"
NOT_LISTED = "No longer listed in the organization on GitHub: deleted, transferred, or not visible to this token"
CHECK_EVERY = timedelta(days=1)


def repository_gone_mark(*, repository_id: int, reason: str, now: datetime | None = None) -> bool:
    """Mark the repository gone, if it was not already; True when this call did (and logged it)."""
    now = now or timezone.now()
    marked = Repository.objects.filter(pk=repository_id, gone_since__isnull=True).update(
        gone_since=now, gone_checked_at=now, unavailable_reason=reason
    )
    if marked:
        name = Repository.objects.values_list("full_name", flat=True).get(pk=repository_id)
        logger.warning("%s is gone from GitHub (%s); checking it once a day from now on", name, reason)
    return bool(marked)


def repository_back(*, repository_id: int) -> None:
    """GitHub answered for the repository again: it is not gone (unless the organization no longer lists it,
    which only the listing can undo: GitHub answers for a transferred repository at its old address)."""
    back = (
        Repository.objects.filter(pk=repository_id, gone_since__isnull=False)
        .exclude(unavailable_reason=NOT_LISTED)
        .update(gone_since=None, gone_checked_at=None, unavailable_reason="")
    )
    if back:
        name = Repository.objects.values_list("full_name", flat=True).get(pk=repository_id)
        logger.info("%s is back on GitHub", name)


def repositories_listing_seen(*, org: str, listed: Collection[int], now: datetime | None = None) -> None:
    """After a complete read of the organization's repository list (`listed`: the GitHub ids on it): the ones it
    no longer holds are gone; the ones gone for that reason and listed again are back."""
    ours = Repository.objects.filter(owner__iexact=org, is_active=True)
    for pk in ours.exclude(github_id__in=listed).filter(gone_since__isnull=True).values_list("pk", flat=True):
        repository_gone_mark(repository_id=pk, reason=NOT_LISTED, now=now)
    relisted = ours.filter(github_id__in=listed, unavailable_reason=NOT_LISTED).values_list("pk", "full_name")
    for pk, name in relisted:
        if Repository.objects.filter(pk=pk, unavailable_reason=NOT_LISTED).update(
            gone_since=None, gone_checked_at=None, unavailable_reason=""
        ):
            logger.info("%s is listed on GitHub again", name)


def repositories_to_sync(*, org: str, now: datetime | None = None) -> list[int]:
    """The followed repositories of `org` the periodic sync asks for: all but the gone ones checked in the last
    day."""
    now = now or timezone.now()
    due = Q(gone_since__isnull=True) | Q(gone_checked_at__isnull=True) | Q(gone_checked_at__lt=now - CHECK_EVERY)
    return list(Repository.objects.filter(due, is_active=True, owner__iexact=org).values_list("pk", flat=True))


def repository_gone_checked(*, repository_id: int, now: datetime | None = None) -> None:
    """A sync is asking GitHub about a gone repository now: the next check is due a day later, whatever it finds."""
    Repository.objects.filter(pk=repository_id, gone_since__isnull=False).update(gone_checked_at=now or timezone.now())
