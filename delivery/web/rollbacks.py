"""The rollback confirmation, the rollback's own page, and the on-call page."""

from __future__ import annotations

import uuid

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from delivery.accounts.roles import can_start_rollback
from delivery.core.http import HtmxHttpRequest
from delivery.flows.rollbacks import rollback_requested, rollback_retried
from delivery.notifications.selectors import notification_list
from delivery.pipeline.models import Release
from delivery.pipeline.selectors import release_owner_ids
from delivery.rollbacks.forms import RollbackForm
from delivery.rollbacks.models import Rollback
from delivery.rollbacks.selectors import (
    changes_undone,
    in_flight_rollback,
    last_known_good,
    live_release,
    on_call_board,
    releases_undone,
    rollback_targets,
)
from delivery.rollbacks.services import ProductionMoved, RollbackInFlight, RollbackRefused


def _release(pk: int) -> Release:
    return get_object_or_404(Release.objects.select_related("repository"), pk=pk)


def _param(request: HttpRequest, name: str) -> str:
    return request.POST.get(name) or request.GET.get(name) or ""


def _confirmation(request: HtmxHttpRequest, release: Release, *, status: int = 200, **extra: object) -> HttpResponse:
    live = live_release(release.repository) or release
    targets = rollback_targets(live)
    default = last_known_good(live, targets)
    chosen = _param(request, "target")
    target = next((t for t in targets if str(t.pk) == chosen), default)
    shown_live = _param(request, "live")
    moved = shown_live not in ("", str(live.pk))
    target_note = ""
    if moved and chosen:
        # The form was computed for an earlier live release: on submit, its default target (that release's last
        # known good) moves to the new one; a target the person chose stays while it is still a target.
        shown = Release.objects.filter(pk=int(shown_live)).first() if shown_live.isdigit() else None
        shown_default = last_known_good(shown) if shown is not None and shown.deployed_at else None
        label = next((t.tag_name for t in targets if str(t.pk) == chosen), "")
        kept_default = request.method == "POST" and shown_default is not None and str(shown_default.pk) == chosen
        if not label or kept_default:  # (a target picked from the select just now is the person's choice)
            target = default
            if default is not None and str(default.pk) != chosen:
                target_note = f"The target is now the last known good, {default.tag_name}."
        elif default is not None and target != default:
            target_note = f"Kept your choice, {label}; the last known good is now {default.tag_name}."
    undone = releases_undone(live, target) if target else []
    context = {
        "release": release,
        "live": live,
        "targets": targets,
        "target": target,
        "known_good": default,
        "releases_undone": undone,
        "undone": changes_undone(live, target, undone) if target else [],
        "in_flight": in_flight_rollback(release.repository_id, release.environment),
        # The target changed in a panel opened before production moved: say so, as a submit would.
        "moved": moved,
        "target_note": target_note,
        # Changing the target keeps the form's key and what was typed as the reason.
        "key": _param(request, "idempotency_key")[:100] or uuid.uuid4().hex,
        "reason": _param(request, "reason"),
        **extra,
    }
    template = "rollbacks/confirm.html"
    if request.htmx and not request.htmx.boosted:
        template += "#rollback-form"
    return render(request, template, context, status=status)


def rollback_new(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """GET: the confirmation (what is live, the target, the changes undone, a required reason). POST: start."""
    release = _release(pk)
    live = live_release(release.repository) or release  # what a rollback takes out of production
    if not can_start_rollback(request.user, release_owner_ids(release=live)):
        raise PermissionDenied("Your role does not allow rolling back the release that is live.")
    if request.method != "POST":
        return _confirmation(request, release)
    form = RollbackForm(request.POST)
    if not form.is_valid():
        return _confirmation(request, release, status=400, error=form.first_error())
    try:
        started = rollback_requested(
            release=release,
            target=form.cleaned_data["target"],
            user=request.user,
            reason=form.cleaned_data["reason"],
            idempotency_key=form.cleaned_data["idempotency_key"],
            # What the confirmation showed as live; a form without it showed nothing: ask again.
            shown_live_id=form.cleaned_data["live"],
            request=request,
        )
    except ProductionMoved as exc:
        return _confirmation(request, release, status=409, error=str(exc), moved=True)
    except RollbackRefused as exc:
        if exc.status == 403:
            raise PermissionDenied(str(exc)) from exc
        return _confirmation(request, release, status=exc.status, error=str(exc))
    except RollbackInFlight as exc:
        return _confirmation(request, release, status=409, error=str(exc), in_flight=exc.rollback)
    url = reverse("rollback", args=[started.rollback.pk])
    if request.htmx:
        return HttpResponse(status=204, headers={"HX-Redirect": url})
    return redirect(url)


def rollback_page(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    rollback = get_object_or_404(
        Rollback.objects.select_related("repository", "from_release", "target_release", "requested_by", "deployment"),
        pk=pk,
    )
    context = {
        "rollback": rollback,
        "undone": list(rollback.releases_undone.prefetch_related("owners").order_by("-deployed_at")),
        "in_flight": rollback.state in Rollback.IN_FLIGHT,
        "can_retry": rollback.state == Rollback.State.FAILED
        and can_start_rollback(request.user, release_owner_ids(release=rollback.from_release)),
        "now": timezone.now(),
    }
    template = "rollbacks/rollback.html"
    if request.htmx and not request.htmx.boosted:
        template += "#rollback-state"
    return render(request, template, context)


@require_POST
def rollback_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    rollback = get_object_or_404(Rollback.objects.select_related("repository", "from_release"), pk=pk)
    try:
        rollback_retried(rollback=rollback, user=request.user, request=request)
    except RollbackRefused as exc:
        raise PermissionDenied(str(exc)) from exc
    except RollbackInFlight as exc:
        return redirect("rollback", exc.rollback.pk)
    return redirect("rollback", rollback.pk)


def on_call_page(request: HtmxHttpRequest) -> HttpResponse:
    rows = on_call_board(now=timezone.now())
    for row in rows:  # the button only where this person may press it (a developer: their own live release)
        row.can_roll_back = (
            row.live is not None
            and not row.repository.archived
            and row.repository.gone_since is None
            and can_start_rollback(request.user, {o.pk for o in row.live.owners.all()})
        )
    context = {
        "rows": rows,
        "notices": list(notification_list(limit=8)),
        "now": timezone.now(),
    }
    template = "rollbacks/on_call.html"
    if request.htmx and not request.htmx.boosted:
        template += "#on-call-rows"
    return render(request, template, context)
