"""Identity's writes: a person's Developer record linked to their account, an account switched off, a sign-in
refused, a role changed, the organization's teams."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from delivery.accounts.audit import audit
from delivery.accounts.models import AuditEvent, Developer, Role, Team
from delivery.accounts.roles import role_of, role_set
from delivery.clickup.models import WorkspaceMember


class RoleRefused(Exception):
    """A role change refused, in words for the admin who tried it (the page answers 400)."""


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


def sign_in_refuse(*, login: str, reason: str, user: Any = None, request: HttpRequest | None = None) -> None:
    """Record why `login` was turned away at sign-in; `user`, the account of someone who has left, is switched off
    first (its sessions end everywhere)."""
    if user is not None:
        account_deactivate(user, reason=reason)
    audit(request, AuditEvent.Verb.SIGN_IN_REFUSED, login=login, summary=reason)


@transaction.atomic
def role_change(*, user: Any, role: Role, actor: Any, request: HttpRequest | None = None) -> None:
    """Give `user` this role, recorded in the audit log as before → after. A superuser is an admin whatever their
    groups, and nobody takes their own admin role away (another admin must): both refused."""
    if user.is_superuser:
        raise RoleRefused(f"{user.get_username()} is a superuser: an admin whatever the role.")
    if user.pk == actor.pk and role != Role.ADMIN:
        raise RoleRefused("You cannot take your own admin role away; ask another admin.")
    before = role_of(user)
    role_set(user, role)
    audit(
        request,
        AuditEvent.Verb.ROLE_CHANGED,
        actor=actor,
        summary=f"{user.get_username()}: {before or 'no role'} → {role.value}",
        target_type="user",
        target_id=str(user.pk),
    )


@dataclass(frozen=True)
class TeamRow:
    github_id: int
    slug: str
    name: str
    description: str
    member_ids: frozenset[int]  # Developer ids


@transaction.atomic
def teams_replace(teams: list[TeamRow], *, now: datetime) -> tuple[int, int]:
    """Make the teams and their members what GitHub says now: teams it no longer lists are removed. Only the
    differences are written. Returns (teams kept or made, teams removed)."""
    removed, _ = Team.objects.exclude(github_id__in=[row.github_id for row in teams]).delete()  # first: slugs free
    kept: list[int] = []
    for row in teams:
        team, _made = Team.objects.update_or_create(
            github_id=row.github_id,
            defaults={"slug": row.slug, "name": row.name, "description": row.description, "synced_at": now},
        )
        current = set(team.members.values_list("pk", flat=True))
        if current != row.member_ids:
            team.members.remove(*(current - row.member_ids))
            team.members.add(*(row.member_ids - current))
        kept.append(team.pk)
    return len(kept), removed


# -- ClickUp accounts ---------------------------------------------------------------------------------------------
def developers_match_clickup() -> int:
    """People whose ClickUp account is not known get the workspace member whose address is one of their verified
    e-mail addresses (as GitHub gave them at sign-in), when exactly one member and one person (of those who did not
    choose on their page) share it; a choice made on their page is left alone. Returns how many were matched."""
    members: dict[str, list[str]] = {}
    for user_id, email in WorkspaceMember.objects.exclude(email="").values_list("user_id", "email"):
        members.setdefault(email.lower(), []).append(user_id)
    people: dict[str, list[int]] = {}
    addresses = EmailAddress.objects.filter(
        verified=True, user__developer__isnull=False, user__developer__clickup_set_by_hand=False
    ).values_list("email", "user__developer")
    for email, developer_id in addresses:
        people.setdefault(email.lower(), []).append(developer_id)
    matched: dict[int, str] = {}
    for email, user_ids in members.items():
        developer_ids = set(people.get(email, []))
        if len(user_ids) == 1 and len(developer_ids) == 1:
            matched.setdefault(developer_ids.pop(), user_ids[0])
    done = 0
    for developer_id, user_id in matched.items():
        done += Developer.objects.filter(pk=developer_id, clickup_user_id="", clickup_set_by_hand=False).update(
            clickup_user_id=user_id
        )
    return done


def developer_clickup_set(
    *, developer: Developer, user_id: str, actor: Any, request: HttpRequest | None = None
) -> bool:
    """The person (or an admin) chooses their ClickUp account, or none ("" ); matching by e-mail leaves it alone from
    then on. An audit event when it changed; returns whether it did."""
    changed = Developer.objects.filter(pk=developer.pk).exclude(clickup_user_id=user_id, clickup_set_by_hand=True)
    if not changed.update(clickup_user_id=user_id, clickup_set_by_hand=True):
        return False
    member = WorkspaceMember.objects.filter(user_id=user_id).first() if user_id else None
    audit(
        request,
        AuditEvent.Verb.SETTINGS_CHANGED,
        actor=actor,
        target_type="developer",
        target_id=str(developer.pk),
        summary=f"{developer.login}'s ClickUp account: {member or user_id or 'none'}",
    )
    return True
