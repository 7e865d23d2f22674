"""Identity's services: a role change (refused in words for a superuser and for one's own admin role, else done
and written in the audit log) and a refused sign-in."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from delivery.accounts.models import AuditEvent, Role
from delivery.accounts.roles import role_of
from delivery.accounts.services import RoleRefused, role_change, sign_in_refuse
from tests.conftest import member

pytestmark = pytest.mark.django_db


def _fresh(user: object) -> object:
    return get_user_model().objects.get(pk=user.pk)  # type: ignore[attr-defined]


def test_a_role_change_is_made_and_audited_with_before_and_after() -> None:
    boss, dana = member("boss", role="admin"), member("dana", role=None)
    role_change(user=dana, role=Role.ON_CALL, actor=boss)
    assert role_of(_fresh(dana)) == Role.ON_CALL
    role_change(user=dana, role=Role.VIEWER, actor=boss)
    assert role_of(_fresh(dana)) == Role.VIEWER
    summaries = list(
        AuditEvent.objects.filter(verb=AuditEvent.Verb.ROLE_CHANGED).order_by("pk").values_list("summary", flat=True)
    )
    assert summaries == ["dana: no role → on-call", "dana: on-call → viewer"]
    assert set(AuditEvent.objects.values_list("actor_login", "target_type", "target_id")) == {
        ("boss", "user", str(dana.pk))
    }


def test_a_superuser_and_ones_own_admin_role_are_refused_and_nothing_is_written() -> None:
    boss = member("boss", role="admin")
    root = get_user_model().objects.create_superuser("root", password="x")
    with pytest.raises(RoleRefused, match="root is a superuser: an admin whatever the role"):
        role_change(user=root, role=Role.VIEWER, actor=boss)
    with pytest.raises(RoleRefused, match="You cannot take your own admin role away; ask another admin"):
        role_change(user=boss, role=Role.ON_CALL, actor=boss)
    role_change(user=boss, role=Role.ADMIN, actor=boss)  # keeping it is no refusal
    assert role_of(_fresh(boss)) == Role.ADMIN
    assert AuditEvent.objects.filter(verb=AuditEvent.Verb.ROLE_CHANGED).count() == 1


def test_a_refused_sign_in_is_recorded_and_a_leavers_account_switched_off_first() -> None:
    leaver = member("lee")
    sign_in_refuse(login="stranger", reason="not an active member of acme (none)")
    assert role_of(_fresh(leaver)) == Role.DEVELOPER  # nobody else is touched
    sign_in_refuse(login="lee", reason="not an active member of acme (pending)", user=leaver)
    assert not _fresh(leaver).is_active  # type: ignore[attr-defined]
    assert list(
        AuditEvent.objects.filter(verb=AuditEvent.Verb.SIGN_IN_REFUSED)
        .order_by("pk")
        .values_list("actor_login", "summary")
    ) == [
        ("stranger", "not an active member of acme (none)"),
        ("lee", "Account switched off: not an active member of acme (pending)"),
        ("lee", "not an active member of acme (pending)"),
    ]
