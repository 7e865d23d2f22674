"""Identity's writes: a person's Developer record linked to their account, and an account switched off."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from delivery.accounts.audit import audit
from delivery.accounts.models import AuditEvent, Developer


def allowed_logins() -> set[str]:
    """GitHub logins let in besides the organization's active members (TRUNKLINE_ALLOWED_LOGINS), lower case."""
    return {login.lower() for login in settings.TRUNKLINE_ALLOWED_LOGINS}


def developer_link(user: Any, github: dict[str, Any]) -> Developer:
    """The Developer record of this GitHub account, linked to `user` (a previous link of either side moves)."""
    with transaction.atomic():
        developer, _created = Developer.objects.select_for_update().get_or_create(
            github_id=int(github["id"]),
            defaults={"login": github.get("login") or user.get_username()},
        )
        Developer.objects.filter(user=user).exclude(pk=developer.pk).update(user=None)
        developer.user = user
        developer.login = github.get("login") or developer.login
        developer.name = github.get("name") or developer.name
        developer.avatar_url = github.get("avatar_url") or developer.avatar_url
        developer.html_url = github.get("html_url") or developer.html_url
        developer.save()
    return developer


def account_deactivate(user: Any, *, reason: str) -> None:
    """Switch off an account (its role stays for the record) and end its sessions."""
    if user is None or user.pk is None:
        return
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
    audit(None, AuditEvent.Verb.SIGN_IN_REFUSED, login=user.get_username(), summary=f"Account switched off: {reason}")
