"""The watch's page: what production's signals read (a chart each, the verdict and its evidence), the checklist, the
dashboards, the countdown, the sign-off."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from delivery.accounts.roles import can_start_rollback
from delivery.core.http import HtmxHttpRequest
from delivery.flows.watches import watch_signed_off
from delivery.monitoring.models import ChecklistItem, MonitoringSession
from delivery.monitoring.selectors import watch_dashboard_links, watch_signals, watch_state
from delivery.monitoring.services import ITEM_NOTE_MAX, NOTES_MAX, WatchError, watch_item_check
from delivery.monitoring.verdicts import error_note
from delivery.pipeline.selectors import release_owner_ids
from delivery.pipeline.task_links import watch_criteria_groups
from delivery.rollbacks.selectors import live_release
from delivery.web.forms import WatchItemForm, WatchSignOffForm
from delivery.web.watch_charts import signal_chart


def _session(pk: int) -> MonitoringSession:
    return get_object_or_404(
        MonitoringSession.objects.select_related("release", "release__repository", "owner", "signed_off_by"), pk=pk
    )


def _signals_context(session: MonitoringSession, now: datetime) -> dict[str, object]:
    signals = watch_signals(session)
    return {
        "session": session,
        "signals": signals,
        "signal_rows": [
            {
                "reading": r,
                "chart": signal_chart(r),
                "note": error_note(r.errors, r.last_error, standing=r.judged_at is not None),
            }
            for r in signals.readings
        ],
        "read_every": settings.SIGNALS_READ_MINUTES,
        "reads_failing": any(r.errors and r.judged_at for r in signals.readings),
        "reading": session.signed_off_at is None and now < session.window_ends_at,
    }


def _context(request: HttpRequest, session: MonitoringSession, **extra: object) -> dict[str, object]:
    now = timezone.now()
    covered = list(session.releases.prefetch_related("undone_by").order_by("deployed_at", "pk"))
    items = list(session.items.select_related("checked_by"))
    return {
        **_signals_context(session, now),
        "session": session,
        "covered": covered,
        "items": [item for item in items if not item.task],
        "criteria": watch_criteria_groups(items, release_ids=[r.pk for r in covered]),
        "state": watch_state(session, now),
        "links": watch_dashboard_links(session),
        "mine": session.owner.user_id == request.user.pk,
        # The rollback view's own rule: the button only for someone who may roll back what is live now.
        "can_roll_back": can_start_rollback(
            request.user, release_owner_ids(release=live_release(session.release.repository) or session.release)
        ),
        "window_over": now >= session.window_ends_at,
        "decisions": [(d.value, d.label) for d in MonitoringSession.OWNER_DECISIONS],
        "chosen_releases": {r.pk for r in covered},
        "notes_max": NOTES_MAX,
        "item_note_max": ITEM_NOTE_MAX,
        "now": now,
        **extra,
    }


def watch_page(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The watch. A POST is its sign-off, answered at the page's own address: a refusal re-renders it here (what
    was typed kept), so a reload never lands on an address that answers only POST. htmx's refresh of the signals
    gets their section alone."""
    session = _session(pk)
    if request.method == "POST":
        return _sign_off(request, session)
    if request.htmx and not request.htmx.boosted:
        return render(request, "monitoring/watch.html#watch-signals", _signals_context(session, timezone.now()))
    return render(request, "monitoring/watch.html", _context(request, session))


def watch_sign_off_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The sign-off's older address: a POST signs off, anything else goes to the watch."""
    if request.method != "POST":
        return redirect("watch", pk)
    return _sign_off(request, _session(pk))


def _sign_off(request: HttpRequest, session: MonitoringSession) -> HttpResponse:
    form = WatchSignOffForm(request.POST)
    if not form.is_valid():
        return render(
            request, "monitoring/watch.html", _context(request, session, error=form.first_error()), status=400
        )
    decision, notes, release_ids = form.cleaned_data["decision"], form.cleaned_data["notes"], form.release_ids()
    try:
        done = watch_signed_off(
            session=session, user=request.user, decision=decision, notes=notes, release_ids=release_ids
        )
    except PermissionError as exc:
        raise PermissionDenied(str(exc)) from exc
    except WatchError as exc:
        context = _context(request, session, error=str(exc), decision=decision, notes=notes)
        if release_ids is not None:
            context["chosen_releases"] = set(release_ids)
        return render(request, "monitoring/watch.html", context, status=400)
    messages.success(request, f"Signed off: {MonitoringSession.Decision(decision).label}.")
    if decision == MonitoringSession.Decision.ROLL_BACK:
        return redirect("rollback-new", done.session.release_id)  # straight to the rollback confirmation
    return redirect("watch", session.pk)


def watch_item_page(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(
        ChecklistItem.objects.select_related("session__owner", "session__release__repository"), pk=pk
    )
    if request.method != "POST":
        return redirect("watch", item.session_id)
    form = WatchItemForm(request.POST)
    error = "" if form.is_valid() else form.first_error()
    if not error:
        try:
            watch_item_check(
                item=item, user=request.user, checked=form.cleaned_data["checked"], note=form.cleaned_data["note"]
            )
        except PermissionError as exc:
            raise PermissionDenied(str(exc)) from exc
        except WatchError as exc:
            error = str(exc)
    item.refresh_from_db()
    status = 400 if error else 200
    if request.htmx:
        context = {
            "item": item,
            "mine": True,
            "session": item.session,
            "item_error": error,
            "item_saved": not error,
            "typed_note": form.data.get("note", "") if error else "",
            "item_note_max": ITEM_NOTE_MAX,
        }
        return render(request, "monitoring/_item.html", context, status=status)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Saved “{item.text}”.")
    return redirect("watch", item.session_id)
