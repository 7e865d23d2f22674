"""Ownership queues (mine, the team's, anyone's) and the admin's team page: roles and the on-call rotation."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.http import require_POST

from delivery.accounts import oncall
from delivery.accounts.audit import audit
from delivery.accounts.models import AuditEvent, Developer, OnCallRotation, OnCallShift, Role
from delivery.accounts.roles import requires, role_of, role_set
from delivery.web.queues import Queue, has_work, queue_of, team_queues


def _developer(request: HttpRequest) -> Developer | None:
    return Developer.objects.filter(user=request.user).first()


def home(request: HttpRequest) -> HttpResponse:
    """A developer with work lands on their queue; everyone else on the pipeline board."""
    developer = _developer(request)
    if developer is not None and has_work(developer.pk):
        return redirect("my-queue")
    return redirect("board")


def _queue_page(request: HttpRequest, queue: Queue, *, mine: bool) -> HttpResponse:
    context = {"queue": queue, "mine": mine, "now": timezone.now()}
    template = "accounts/queue.html"
    if request.htmx and not request.htmx.boosted:
        template += "#queue-items"
    return render(request, template, context)


def my_queue(request: HttpRequest) -> HttpResponse:
    developer = _developer(request)
    if developer is None:
        return render(request, "accounts/no_developer.html", status=200)
    return _queue_page(request, queue_of(developer, now=timezone.now()), mine=True)


def person_queue(request: HttpRequest, login: str) -> HttpResponse:
    developer = (
        Developer.objects.filter(login=login).order_by(F("user_id").asc(nulls_last=True), "-pk").first()
    )  # logins can be reused
    if developer is None:
        raise Http404(f"Nobody called {login}")
    if developer.user_id == request.user.pk:
        return redirect("my-queue")
    return _queue_page(request, queue_of(developer, now=timezone.now()), mine=False)


def team_page(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    context = {"queues": team_queues(now=now), "now": now}
    template = "accounts/team.html"
    if request.htmx and not request.htmx.boosted:
        template += "#team-queues"
    return render(request, template, context)


# -- admin: roles and on-call ----------------------------------------------------------------------------------
def _team_settings_context() -> dict[str, Any]:
    users = list(
        get_user_model()
        .objects.filter(is_active=True)
        .select_related("developer")
        .prefetch_related("groups")
        .order_by("username")
    )
    for user in users:
        names = {g.name for g in user.groups.all()}
        user.role = (
            Role.ADMIN
            if user.is_superuser
            else next((r for r in (Role.ADMIN, Role.ON_CALL, Role.DEVELOPER, Role.VIEWER) if r.value in names), None)
        )
    rotation = OnCallRotation.objects.order_by("pk").first()
    now = timezone.now()
    return {
        "users": users,
        "roles": list(Role),
        "developers": list(Developer.objects.filter(is_bot=False).only("login", "name").order_by("login")),
        "rotation": rotation,
        "rotation_logins": [m.developer.login for m in rotation.members.select_related("developer")]
        if rotation
        else [],
        "schedule": oncall.rotation_schedule(weeks=6, now=now),
        "overrides": list(
            OnCallShift.objects.filter(ends_at__gt=now).select_related("developer").order_by("starts_at")
        ),
        "audit": list(
            AuditEvent.objects.filter(
                verb__in=[AuditEvent.Verb.ROLE_CHANGED, AuditEvent.Verb.ON_CALL_CHANGED]
            ).order_by("-created_at")[:10]
        ),
        "today": timezone.localdate(),
    }


@requires("manage_team")
def team_settings(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/team_settings.html", _team_settings_context())


def _back_with_error(request: HttpRequest, message: str) -> HttpResponse:
    """The page again, with the reason and what was typed (nothing is lost to a mistake)."""
    context = _team_settings_context()
    context["error"] = message
    context["typed"] = request.POST
    return render(request, "accounts/team_settings.html", context, status=400)


@requires("manage_team")
@require_POST
def role_change(request: HttpRequest) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=request.POST.get("user", "0") or 0)
    try:
        role = Role(request.POST.get("role", ""))
    except ValueError:
        return _back_with_error(request, "Choose one of the roles.")
    if user.is_superuser:
        return _back_with_error(request, f"{user.get_username()} is a superuser: an admin whatever the role.")
    if user.pk == request.user.pk and role != Role.ADMIN:
        return _back_with_error(request, "You cannot take your own admin role away; ask another admin.")
    before = role_of(user)
    role_set(user, role)
    audit(
        request,
        AuditEvent.Verb.ROLE_CHANGED,
        actor=request.user,
        summary=f"{user.get_username()}: {before or 'no role'} → {role.value}",
        target_type="user",
        target_id=str(user.pk),
    )
    messages.success(request, f"{user.get_username()} is now {role.label.lower()}.")
    return redirect("team-settings")


@requires("manage_team")
@require_POST
def rotation_change(request: HttpRequest) -> HttpResponse:
    logins = [login.strip() for login in request.POST.get("members", "").replace(",", "\n").splitlines()]
    logins = [login for login in logins if login]
    found = {d.login: d for d in Developer.objects.filter(login__in=logins)}
    unknown = [login for login in logins if login not in found]
    if unknown:
        return _back_with_error(request, f"Unknown GitHub login: {', '.join(unknown)}.")
    if len(set(logins)) != len(logins):
        return _back_with_error(request, "Each person once in the rotation.")
    try:
        starts_on = parse_date(request.POST.get("starts_on", ""))
    except ValueError:
        starts_on = None
    try:
        hour = int(request.POST.get("handover_hour", "9"))
    except ValueError:
        hour = -1
    if starts_on is None or not 0 <= hour <= 23:
        return _back_with_error(request, "Give the first handover day (YYYY-MM-DD) and an hour from 0 to 23.")
    oncall.rotation_set(
        developers=[found[login] for login in logins],
        starts_on=starts_on,
        handover_hour=hour,
        actor=request.user,
        request=request,
    )
    messages.success(request, "Rotation saved.")
    return redirect("team-settings")


def _local_datetime(value: str) -> datetime | None:
    """A date and time typed in the form (local time), or None when it is not one (a 30 February, a time the
    clocks skip)."""
    try:
        parsed = parse_datetime(value.strip()) if value else None
        if parsed is not None and timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
    except ValueError:
        return None
    return parsed


@requires("manage_team")
@require_POST
def override_add(request: HttpRequest) -> HttpResponse:
    developer = Developer.objects.filter(login=request.POST.get("login", "").strip()).first()
    starts_at = _local_datetime(request.POST.get("starts_at", ""))
    ends_at = _local_datetime(request.POST.get("ends_at", ""))
    if developer is None:
        return _back_with_error(request, "Choose who is on call.")
    if starts_at is None or ends_at is None or ends_at <= starts_at:
        return _back_with_error(request, "Give a start and an end, the end after the start.")
    if ends_at - starts_at > timedelta(days=31):
        return _back_with_error(request, "An override covers at most 31 days; change the rotation instead.")
    oncall.override_add(
        developer=developer,
        starts_at=starts_at,
        ends_at=ends_at,
        actor=request.user,
        request=request,
    )
    messages.success(request, f"{developer.login} is on call from {timezone.localtime(starts_at):%Y-%m-%d %H:%M %Z}.")
    return redirect("team-settings")


@requires("manage_team")
@require_POST
def override_remove(request: HttpRequest, pk: int) -> HttpResponse:
    shift = OnCallShift.objects.filter(pk=pk).select_related("developer").first()
    if shift is not None:  # already removed (a double click): nothing to do
        oncall.override_remove(shift=shift, actor=request.user, request=request)
        messages.success(request, "Override removed.")
    return redirect("team-settings")
