"""Ownership queues (mine, the team's, anyone's) with a person's ClickUp account and tasks; the admin's team page:
roles and the on-call rotation."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from delivery.accounts import oncall, services
from delivery.accounts.models import AuditEvent, Developer, OnCallRotation, OnCallShift, Role
from delivery.accounts.roles import requires
from delivery.clickup.client import configured as clickup_configured
from delivery.clickup.models import WorkspaceMember
from delivery.core.http import SignedInRequest
from delivery.pipeline.task_links import tasks_waiting
from delivery.web.forms import ClickUpAccountForm, OverrideForm, RoleChangeForm, RotationForm
from delivery.web.queues import Queue, has_work, queue_of, team_queues


def _developer(request: SignedInRequest) -> Developer | None:
    return Developer.objects.filter(user=request.user).first()


def home(request: SignedInRequest) -> HttpResponse:
    """A developer with work lands on their queue; everyone else on the pipeline board."""
    developer = _developer(request)
    if developer is not None and has_work(developer.pk):
        return redirect("my-queue")
    return redirect("board")


def _queue_page(request: SignedInRequest, queue: Queue, *, mine: bool, developer: Developer) -> HttpResponse:
    context: dict[str, Any] = {"queue": queue, "mine": mine, "now": timezone.now()}
    template = "accounts/queue.html"
    if request.htmx and not request.htmx.boosted:
        template += "#queue-items"
    else:
        context["clickup"] = _clickup(request, developer)
    return render(request, template, context)


def _can_set_clickup(request: SignedInRequest, developer: Developer) -> bool:
    """The person themselves, or an admin."""
    return developer.user_id == request.user.pk or request.user.has_perm("accounts.manage_team")


def _clickup(request: SignedInRequest, developer: Developer) -> dict[str, Any]:
    """The person's ClickUp account and the tasks waiting for them; without ClickUp settings, only that."""
    if not clickup_configured():
        return {"configured": False}
    can_set = _can_set_clickup(request, developer)
    user_id = developer.clickup_user_id
    return {
        "configured": True,
        "member": WorkspaceMember.objects.filter(user_id=user_id).first() if user_id else None,
        "user_id": user_id,
        "by_hand": developer.clickup_set_by_hand,
        "lists": settings.CLICKUP_QUEUE_LISTS,
        "tasks": tasks_waiting(clickup_user_id=user_id),
        "can_set": can_set,
        "members": list(WorkspaceMember.objects.only("user_id", "username", "email")) if can_set else [],
    }


def my_queue(request: SignedInRequest) -> HttpResponse:
    developer = _developer(request)
    if developer is None:
        return render(request, "accounts/no_developer.html", status=200)
    return _queue_page(request, queue_of(developer, now=timezone.now()), mine=True, developer=developer)


def _person(login: str) -> Developer:
    developer = (
        Developer.objects.filter(login=login).order_by(F("user_id").asc(nulls_last=True), "-pk").first()
    )  # logins can be reused
    if developer is None:
        raise Http404(f"Nobody called {login}")
    return developer


def person_queue(request: SignedInRequest, login: str) -> HttpResponse:
    developer = _person(login)
    if developer.user_id == request.user.pk:
        return redirect("my-queue")
    return _queue_page(request, queue_of(developer, now=timezone.now()), mine=False, developer=developer)


@require_POST
def person_clickup(request: SignedInRequest, login: str) -> HttpResponse:
    """A person (or an admin) chooses their ClickUp account on their page."""
    developer = _person(login)
    if not _can_set_clickup(request, developer):
        raise PermissionDenied(f"Only {developer.login} or an admin chooses {developer.login}'s ClickUp account.")
    back = "my-queue" if developer.user_id == request.user.pk else None
    form = ClickUpAccountForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.first_error())
    elif services.developer_clickup_set(
        developer=developer, user_id=form.cleaned_data["user_id"], actor=request.user, request=request
    ):
        messages.success(request, "ClickUp account saved.")
    return redirect(back) if back else redirect("person", developer.login)


def team_page(request: SignedInRequest) -> HttpResponse:
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
        user.role = (  # type: ignore[attr-defined]  # for the template
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
def team_settings(request: SignedInRequest) -> HttpResponse:
    return render(request, "accounts/team_settings.html", _team_settings_context())


def _back_with_error(request: SignedInRequest, message: str) -> HttpResponse:
    """The page again, with the reason and what was typed (nothing is lost to a mistake)."""
    context = _team_settings_context()
    context["error"] = message
    context["typed"] = request.POST
    return render(request, "accounts/team_settings.html", context, status=400)


@requires("manage_team")
@require_POST
def role_change(request: SignedInRequest) -> HttpResponse:
    form = RoleChangeForm(request.POST)
    if not form.is_valid():
        if "user" in form.errors:
            raise Http404("Nobody with this account")
        return _back_with_error(request, form.first_error())
    user, role = form.cleaned_data["user"], form.cleaned_data["role"]
    try:
        services.role_change(user=user, role=role, actor=request.user, request=request)
    except services.RoleRefused as exc:
        return _back_with_error(request, str(exc))
    messages.success(request, f"{user.get_username()} is now {role.label.lower()}.")
    return redirect("team-settings")


@requires("manage_team")
@require_POST
def rotation_change(request: SignedInRequest) -> HttpResponse:
    form = RotationForm(request.POST)
    if not form.is_valid():
        return _back_with_error(request, form.first_error())
    oncall.rotation_set(
        developers=form.cleaned_data["members"],
        starts_on=form.cleaned_data["starts_on"],
        handover_hour=form.cleaned_data["handover_hour"],
        actor=request.user,
        request=request,
    )
    messages.success(request, "Rotation saved.")
    return redirect("team-settings")


@requires("manage_team")
@require_POST
def override_add(request: SignedInRequest) -> HttpResponse:
    form = OverrideForm(request.POST)
    if not form.is_valid():
        return _back_with_error(request, form.first_error())
    developer, starts_at = form.cleaned_data["login"], form.cleaned_data["starts_at"]
    oncall.override_add(
        developer=developer,
        starts_at=starts_at,
        ends_at=form.cleaned_data["ends_at"],
        actor=request.user,
        request=request,
    )
    messages.success(request, f"{developer.login} is on call from {timezone.localtime(starts_at):%Y-%m-%d %H:%M %Z}.")
    return redirect("team-settings")


@requires("manage_team")
@require_POST
def override_remove(request: SignedInRequest, pk: int) -> HttpResponse:
    shift = OnCallShift.objects.filter(pk=pk).select_related("developer").first()
    if shift is not None:  # already removed (a double click): nothing to do
        oncall.override_remove(shift=shift, actor=request.user, request=request)
        messages.success(request, "Override removed.")
    return redirect("team-settings")
