"""Who is on call: a manual override covering the moment wins, else the weekly rotation's turn."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from delivery.accounts.audit import audit
from delivery.accounts.models import AuditEvent, Developer, OnCallRotation, OnCallRotationMember, OnCallShift, Role
from delivery.accounts.roles import RANK, role_of, role_set


@dataclass(frozen=True, slots=True)
class OnCall:
    developer: Developer
    since: datetime
    until: datetime
    is_override: bool


def _week_bounds(rotation: OnCallRotation, now: datetime) -> tuple[int, datetime]:
    """The index of the rotation week holding `now`, and that week's start (handover time, local zone)."""
    tz = timezone.get_current_timezone()
    first = datetime.combine(rotation.starts_on, time(hour=rotation.handover_hour), tzinfo=tz)
    weeks = (now - first) // timedelta(weeks=1)
    return weeks, first + timedelta(weeks=weeks)


def on_call_now(now: datetime | None = None) -> OnCall | None:
    """The person on call at `now` (two queries at most)."""
    now = now or timezone.now()
    override = (
        OnCallShift.objects.filter(starts_at__lte=now, ends_at__gt=now)
        .select_related("developer")
        .order_by("-created_at")
        .first()
    )
    if override is not None:
        return OnCall(override.developer, override.starts_at, override.ends_at, True)
    rotation = OnCallRotation.objects.order_by("pk").first()
    if rotation is None:
        return None
    members = list(OnCallRotationMember.objects.filter(rotation=rotation).select_related("developer"))
    if not members:
        return None
    week, start = _week_bounds(rotation, now)
    if week < 0:
        return None
    member = members[week % len(members)]
    return OnCall(member.developer, start, start + timedelta(weeks=1), False)


def rotation_schedule(weeks: int = 6, now: datetime | None = None) -> list[OnCall]:
    """The rotation's coming weeks, this one first (overrides not applied)."""
    now = now or timezone.now()
    rotation = OnCallRotation.objects.order_by("pk").first()
    if rotation is None:
        return []
    members = [m.developer for m in OnCallRotationMember.objects.filter(rotation=rotation).select_related("developer")]
    if not members:
        return []
    week, start = _week_bounds(rotation, now)
    if week < 0:  # the rotation starts later: show it from its first week
        week, start = 0, start - timedelta(weeks=week)
    return [
        OnCall(members[(week + i) % len(members)], start + timedelta(weeks=i), start + timedelta(weeks=i + 1), False)
        for i in range(weeks)
    ]


def on_call_duty(developer: Developer, now: datetime | None = None) -> bool:
    """Whether the person is in the rotation or has a current or coming override."""
    now = now or timezone.now()
    return (
        OnCallRotationMember.objects.filter(developer=developer).exists()
        or OnCallShift.objects.filter(developer=developer, ends_at__gt=now).exists()
    )


def _at_least_on_call(developer: Developer) -> None:
    """Being on call means being able to roll back: a rotation member gets the on-call role if below it."""
    user = developer.user
    if user is None:
        return
    role = role_of(user)
    if role is None or RANK[role] < RANK[Role.ON_CALL]:
        role_set(user, Role.ON_CALL)


@transaction.atomic
def rotation_set(
    *, developers: list[Developer], starts_on: Any, handover_hour: int, actor: Any, request: HttpRequest | None = None
) -> OnCallRotation:
    rotation = OnCallRotation.objects.select_for_update().order_by("pk").first()
    if rotation is None:
        rotation = OnCallRotation(starts_on=starts_on, handover_hour=handover_hour)
    rotation.starts_on, rotation.handover_hour, rotation.updated_by = starts_on, handover_hour, actor
    rotation.save()
    OnCallRotationMember.objects.filter(rotation=rotation).delete()
    OnCallRotationMember.objects.bulk_create(
        OnCallRotationMember(rotation=rotation, developer=d, position=i) for i, d in enumerate(developers)
    )
    for developer in developers:
        _at_least_on_call(developer)
    audit(
        request,
        AuditEvent.Verb.ON_CALL_CHANGED,
        actor=actor,
        target_type="rotation",
        target_id=str(rotation.pk),
        summary=f"Rotation: {', '.join(d.login for d in developers) or 'nobody'} from {starts_on}, "
        f"handover {handover_hour:02d}:00",
    )
    return rotation


@transaction.atomic
def _local(moment: datetime) -> str:
    """A moment as the settings page shows it: local time with its zone ("2026-03-02 09:00 UTC")."""
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M %Z}"


def override_add(
    *, developer: Developer, starts_at: datetime, ends_at: datetime, actor: Any, request: HttpRequest | None = None
) -> OnCallShift:
    shift = OnCallShift.objects.create(
        developer=developer, starts_at=starts_at, ends_at=ends_at, is_override=True, created_by=actor
    )
    _at_least_on_call(developer)
    audit(
        request,
        AuditEvent.Verb.ON_CALL_CHANGED,
        actor=actor,
        target_type="on_call_shift",
        target_id=str(shift.pk),
        summary=f"{developer.login} on call {_local(starts_at)} → {_local(ends_at)} (override)",
    )
    return shift


@transaction.atomic
def override_remove(*, shift: OnCallShift, actor: Any, request: HttpRequest | None = None) -> None:
    audit(
        request,
        AuditEvent.Verb.ON_CALL_CHANGED,
        actor=actor,
        target_type="on_call_shift",
        target_id=str(shift.pk),
        summary=f"Override removed: {shift.developer.login} {_local(shift.starts_at)}",
    )
    shift.delete()
