"""Personal API tokens: made and revoked by their person, kept as a hash, each use recorded."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone

from delivery.accounts.audit import audit
from delivery.accounts.models import ApiToken, AuditEvent

PREFIX = "tl_"
MAX_DAYS = 366
USE_RECORDED_EVERY = timedelta(minutes=5)
"""A token's use is written (last used, the audit log) at most this often: a script polling every second writes
neither every second."""


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_create(*, user: Any, name: str, days: int, request: HttpRequest | None = None) -> tuple[ApiToken, str]:
    """A new token for `user`, valid `days` days: the row and the token itself (shown once, never stored)."""
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=raw[:10],
        key_hash=_digest(raw),
        expires_at=timezone.now() + timedelta(days=days),
    )
    audit(
        request,
        AuditEvent.Verb.TOKEN_CREATED,
        actor=user,
        summary=f"API token {name!r} ({token.prefix}…), valid {days} days",
        target_type="api_token",
        target_id=str(token.pk),
    )
    return token, raw


@transaction.atomic
def token_revoke(*, token: ApiToken, user: Any, request: HttpRequest | None = None) -> bool:
    """Revoke one of the person's own tokens (a second revoke changes nothing). False when it was not theirs."""
    done = ApiToken.objects.filter(pk=token.pk, user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if done:
        audit(
            request,
            AuditEvent.Verb.TOKEN_REVOKED,
            actor=user,
            summary=f"API token {token.name!r} ({token.prefix}…) revoked",
            target_type="api_token",
            target_id=str(token.pk),
        )
    return bool(done) or ApiToken.objects.filter(pk=token.pk, user=user).exists()


def token_user(raw: str, *, request: HttpRequest | None = None, now: datetime | None = None) -> Any:
    """The active user a live token belongs to, or None (unknown, revoked, expired, or its user deactivated)."""
    now = now or timezone.now()
    if not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_digest(raw), revoked_at__isnull=True, expires_at__gt=now, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - USE_RECORDED_EVERY)
    if ApiToken.objects.filter(stale, pk=token.pk).update(last_used_at=now):
        audit(
            request,
            AuditEvent.Verb.TOKEN_USED,
            actor=token.user,
            summary=f"API token {token.name!r} ({token.prefix}…) used",
            target_type="api_token",
            target_id=str(token.pk),
        )
    return token.user


def tokens_of(user: Any) -> list[ApiToken]:
    return list(ApiToken.objects.filter(user=user).order_by(F("revoked_at").desc(nulls_first=True), "-created_at"))
