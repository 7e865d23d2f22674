"""What happens when a person signs in or out: their Developer record is linked, a newcomer gets the default role
(admin for TRUNKLINE_ADMIN_LOGINS, on-call for people on the rotation), and both are audit events. Who may sign in
at all is the adapter's (delivery.web.signin)."""

from __future__ import annotations

from typing import Any

from allauth.account.signals import user_logged_in as allauth_logged_in
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest

from delivery.accounts.audit import audit
from delivery.accounts.models import AuditEvent, Role
from delivery.accounts.oncall import on_call_duty
from delivery.accounts.roles import RANK, role_of, role_set
from delivery.accounts.services import developer_link


def _initial_role(login: str) -> Role:
    if login.lower() in {a.lower() for a in settings.TRUNKLINE_ADMIN_LOGINS}:
        return Role.ADMIN
    return Role(settings.TRUNKLINE_DEFAULT_ROLE)


@receiver(allauth_logged_in, dispatch_uid="trunkline-github-signed-in")
def _github_signed_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """After a GitHub sign-in: the Developer link, and a role for a newcomer (or admin from the settings)."""
    sociallogin = kwargs.get("sociallogin")
    github = sociallogin.account.extra_data if sociallogin is not None else {}
    if not github.get("id"):
        return
    developer = developer_link(user, github)
    wanted = _initial_role(str(github.get("login") or ""))
    current = role_of(user)
    if current is None or (wanted == Role.ADMIN and current != Role.ADMIN):
        role_set(user, wanted)
        current = wanted
    if RANK[current] < RANK[Role.ON_CALL] and on_call_duty(developer):
        role_set(user, Role.ON_CALL)  # put on the rotation (or an override) before they ever signed in


@receiver(user_logged_in, dispatch_uid="trunkline-signed-in")
def _signed_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    how = "the admin site's password" if request.path.startswith("/admin/") else "GitHub"
    audit(request, AuditEvent.Verb.SIGN_IN, actor=user, summary=f"Signed in with {how}")


@receiver(user_logged_out, dispatch_uid="trunkline-signed-out")
def _signed_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit(request, AuditEvent.Verb.SIGN_OUT, actor=user, summary="Signed out")
