"""The monitoring session page: the checklist, the dashboards, the countdown, the sign-off."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from delivery.monitoring.models import ChecklistItem, MonitoringSession
from delivery.monitoring.services import (
    MonitoringError,
    dashboard_links,
    item_check,
    session_state,
    sign_off,
)


def _session(pk: int) -> MonitoringSession:
    return get_object_or_404(
        MonitoringSession.objects.select_related("release", "release__repository", "owner", "signed_off_by"), pk=pk
    )


def _context(request: HttpRequest, session: MonitoringSession, **extra: object) -> dict[str, object]:
    now = timezone.now()
    return {
        "session": session,
        "items": list(session.items.select_related("checked_by")),
        "state": session_state(session, now),
        "links": dashboard_links(session),
        "mine": session.owner.user_id == request.user.pk,
        "window_over": now >= session.window_ends_at,
        "decisions": MonitoringSession.Decision.choices,
        "now": now,
        **extra,
    }


def session_page(request: HttpRequest, pk: int) -> HttpResponse:
    session = _session(pk)
    return render(request, "monitoring/session.html", _context(request, session))


@require_POST
def item_update(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(
        ChecklistItem.objects.select_related("session__owner", "session__release__repository"), pk=pk
    )
    error = ""
    try:
        item_check(
            item=item, user=request.user, checked=request.POST.get("checked") == "on", note=request.POST.get("note", "")
        )
    except PermissionError as exc:
        raise PermissionDenied(str(exc)) from exc
    except MonitoringError as exc:
        error = str(exc)
    item.refresh_from_db()
    status = 400 if error else 200
    if request.htmx:
        return render(
            request,
            "monitoring/_item.html",
            {"item": item, "mine": True, "session": item.session, "item_error": error},
            status=status,
        )
    if error:
        session = _session(item.session_id)
        return render(request, "monitoring/session.html", _context(request, session, error=error), status=400)
    return redirect("monitoring-session", item.session_id)


@require_POST
def session_sign_off(request: HttpRequest, pk: int) -> HttpResponse:
    session = _session(pk)
    decision = request.POST.get("decision", "")
    try:
        sign_off(session=session, user=request.user, decision=decision, notes=request.POST.get("notes", ""))
    except PermissionError as exc:
        raise PermissionDenied(str(exc)) from exc
    except MonitoringError as exc:
        context = _context(request, session, error=str(exc), decision=decision, notes=request.POST.get("notes", ""))
        return render(request, "monitoring/session.html", context, status=400)
    if decision == MonitoringSession.Decision.ROLL_BACK:
        return redirect("rollback-new", session.release_id)  # straight to the rollback confirmation
    return redirect("monitoring-session", session.pk)
