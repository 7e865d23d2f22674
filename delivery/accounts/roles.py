"""docs/design.md's roles as Django groups with permissions, and the checks every changing view makes.

| action                                    | viewer | developer   | on-call | admin |
| see boards, queues, reports               | yes    | yes         | yes     | yes   |
| sign off own monitoring session           | —      | yes         | yes     | yes   |
| start a rollback                          | —      | own release | any     | any   |
| change repository settings, team, on-call | —      | —           | —       | yes   |

A person has one role: the highest of the role groups they are in. The groups and their permissions are
(re)made after every `migrate`, so a fresh database has them and a changed table reaches old ones.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission
from django.core.exceptions import PermissionDenied
from django.db import transaction

from delivery.accounts.models import Role

_APP = "accounts"
PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.VIEWER: ("view_dashboard",),
    Role.DEVELOPER: ("view_dashboard", "sign_off_own_monitoring", "start_own_rollback", "sync_repository"),
    Role.ON_CALL: (
        "view_dashboard",
        "sign_off_own_monitoring",
        "start_own_rollback",
        "start_any_rollback",
        "sync_repository",
    ),
    Role.ADMIN: (
        "view_dashboard",
        "sign_off_own_monitoring",
        "start_own_rollback",
        "start_any_rollback",
        "sync_repository",
        "manage_team",
        "operate_webhooks",
    ),
}
RANK = {Role.VIEWER: 0, Role.DEVELOPER: 1, Role.ON_CALL: 2, Role.ADMIN: 3}

User = AbstractBaseUser | AnonymousUser


def role_groups_ensure(**_: Any) -> None:
    """Make the four groups with exactly their permissions (a post_migrate receiver; idempotent)."""
    wanted = {codename for codenames in PERMISSIONS.values() for codename in codenames}
    found = {p.codename: p for p in Permission.objects.filter(content_type__app_label=_APP, codename__in=wanted)}
    if len(found) < len(wanted):
        return  # the permissions are made by the same post_migrate signal; the next migrate finishes the job
    for role, codenames in PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role.value)
        group.permissions.set([found[c] for c in codenames])


def role_of(user: Any) -> Role | None:
    """The person's role, read from their permissions (loaded once per request for every permission check):
    superusers are admins; None when signed out or without a role."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    perms = user.get_all_permissions()
    for role in (Role.ADMIN, Role.ON_CALL, Role.DEVELOPER, Role.VIEWER):
        if all(f"{_APP}.{codename}" in perms for codename in PERMISSIONS[role]):
            return role
    return None


@transaction.atomic
def role_set(user: Any, role: Role) -> None:
    """Give `user` exactly this role (out of the other role groups)."""
    user.groups.remove(*Group.objects.filter(name__in=[r.value for r in Role]).exclude(name=role.value))
    group, _created = Group.objects.get_or_create(name=role.value)
    user.groups.add(group)
    for cache in ("_perm_cache", "_group_perm_cache", "_user_perm_cache"):
        if hasattr(user, cache):
            delattr(user, cache)


ACTIONS = {
    "view_dashboard": "seeing Trunkline's pages",
    "sign_off_own_monitoring": "signing off watches",
    "start_own_rollback": "rolling back releases",
    "start_any_rollback": "rolling back any release",
    "sync_repository": "asking for a sync",
    "manage_team": "changing roles and the on-call rotation",
    "operate_webhooks": "seeing and replaying webhook deliveries",
}
"""What each permission allows, in words, for a refusal ("Your role (developer) does not allow …")."""


def refusal(user: Any, codename: str, what: str = "") -> str:
    """Why `user` is refused `codename`, in words: what was refused, their role, and which roles may."""
    plural = {Role.DEVELOPER: "developers", Role.ON_CALL: "on-call", Role.ADMIN: "admins"}
    who = [name for r, name in plural.items() if codename in PERMISSIONS[r]]
    allowed = "only admins can" if who == ["admins"] else f"{', '.join(who[:-1])} and {who[-1]} can" if who else ""
    role = role_of(user)
    doing = what or ACTIONS.get(codename, codename.replace("_", " "))
    if role is None:
        return f"You have no role yet, so {doing} is not allowed" + (f": {allowed}." if allowed else ".")
    return f"Your role ({role.label.lower()}) does not allow {doing}" + (f": {allowed}." if allowed else ".")


def admin_logins() -> list[str]:
    """Who gives roles: the active admins' GitHub logins (usernames where no developer is linked), by name."""
    users = get_user_model().objects.filter(is_active=True)
    admins = users.filter(groups__name=Role.ADMIN.value) | users.filter(is_superuser=True)
    return sorted({getattr(getattr(u, "developer", None), "login", "") or u.get_username() for u in admins.distinct()})


def permission_required(user: Any, codename: str, what: str = "") -> None:
    """Raise PermissionDenied (403) unless the user has accounts.<codename>; the refusal says what was refused
    (`what`, or the permission's words) and who may."""
    if not user.has_perm(f"{_APP}.{codename}"):
        raise PermissionDenied(refusal(user, codename, what))


def can_start_rollback(user: Any, owner_ids: set[int] | frozenset[int]) -> bool:
    """Any release for on-call and admin; a developer only a release they own (authored one of its changes)."""
    if user.has_perm(f"{_APP}.start_any_rollback"):
        return True
    if not user.has_perm(f"{_APP}.start_own_rollback"):
        return False
    developer_id = getattr(getattr(user, "developer", None), "pk", None)
    return developer_id is not None and developer_id in owner_ids


def requires(codename: str, what: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """View decorator: 403 (and nothing done) unless the signed-in user has accounts.<codename>; `what` names the
    refused action in words when the permission's own words are too broad."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def checked(request: Any, *args: Any, **kwargs: Any) -> Any:
            permission_required(request.user, codename, what)
            return view(request, *args, **kwargs)

        return checked

    return decorate
