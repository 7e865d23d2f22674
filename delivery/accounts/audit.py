"""The audit log's one writer: who did what, from where."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from delivery.accounts.models import AuditEvent


def client_ip(request: HttpRequest | None) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None


def audit(
    request: HttpRequest | None, verb: str, *, actor: Any = None, login: str = "", summary: str = "", **extra: Any
) -> AuditEvent:
    """An audit row; `actor` None is Trunkline itself (a task, the demo) unless `login` names someone."""
    return AuditEvent.objects.create(
        actor=actor,
        actor_login=login or (actor.get_username() if actor is not None else "trunkline"),
        verb=verb,
        summary=summary[:300],
        ip_address=client_ip(request),
        **extra,
    )
