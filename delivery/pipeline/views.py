"""The pipeline board: every change in flight, by stage, refreshed live with htmx."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from delivery.accounts.roles import can_start_rollback, permission_required
from delivery.core.http import HtmxHttpRequest
from delivery.github.models import Repository
from delivery.pipeline.forms import DismissForm, FixForm
from delivery.pipeline.models import Change, Release
from delivery.pipeline.selectors import (
    board_columns,
    board_empty_reason,
    board_filter_choices,
    change_detail,
    fix_candidates,
    release_detail,
    release_owner_ids,
    repository_detail,
)
from delivery.pipeline.services import RecordRefused, release_failure_dismiss, release_fix_link


def board(request: HtmxHttpRequest) -> HttpResponse:
    filters = {"repository": request.GET.get("repository", ""), "person": request.GET.get("person", "")}
    now = timezone.now()
    columns = board_columns(now=now, **filters)
    context = {
        "columns": columns,
        "filters": filters,
        "query": request.GET.urlencode(),
        "in_flight": sum(c.total for c in columns if c.stage != "done"),
        "now": now,
    }
    if not any(c.total for c in columns):
        context["empty"] = board_empty_reason(**filters)
    template = "pipeline/board.html"
    if request.htmx and not request.htmx.boosted:
        template += "#board-columns"  # the live refresh: the columns only, so not the filters' choices either
    else:
        context["choices"] = board_filter_choices()
    return render(request, template, context)


def change_page(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(Change.objects.only("pk"), pk=pk)
    return render(request, "pipeline/change.html", change_detail(change_id=pk))


def repository_page(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(Repository.objects.only("pk"), pk=pk)
    return render(request, "pipeline/repository.html", repository_detail(repository_id=pk))


def _may_fix(request: HttpRequest, release: Release) -> bool:
    """Who names the fix of a release: its owners, on-call and admins (as who may roll it back)."""
    return can_start_rollback(request.user, release_owner_ids(release=release))


def _release_page(request: HttpRequest, pk: int, *, error: str = "", status: int = 200) -> HttpResponse:
    context = release_detail(release_id=pk)
    release = context["release"]
    context["record_error"] = error
    if release.fix_for_id:
        context["fixes_release"] = Release.objects.only("pk", "tag_name", "sha").get(pk=release.fix_for_id)
    if release.failed:  # its record can be corrected: name the fix, or (admins) dismiss the failure
        proposal, candidates = fix_candidates(release=release)
        context |= {
            "fix_proposal": proposal,
            "fix_candidates": candidates,
            "fixed_by": release.fixes.order_by("deployed_at").first(),
            "may_fix": _may_fix(request, release),
            "may_dismiss": request.user.has_perm("accounts.manage_team"),
        }
    return render(request, "pipeline/release.html", context, status=status)


def release_page(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(Release.objects.only("pk"), pk=pk)
    return _release_page(request, pk)


@require_POST
def release_fix(request: HttpRequest, pk: int) -> HttpResponse:
    release = get_object_or_404(Release, pk=pk)
    if not _may_fix(request, release):
        raise PermissionDenied("Only the release's owners, on-call and admins name the release that fixes it.")
    form = FixForm(request.POST, release=release)
    if not form.is_valid():
        return _release_page(request, pk, error=form.first_error(), status=400)
    try:
        release_fix_link(release=release, fix=form.cleaned_data["fix"], user=request.user, request=request)
    except RecordRefused as refused:
        return _release_page(request, pk, error=str(refused), status=400)
    messages.success(request, "Saved: the metrics count this release as failed and its fix as unplanned work.")
    return redirect("release", pk=pk)


@require_POST
def release_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    release = get_object_or_404(Release, pk=pk)
    permission_required(request.user, "manage_team")
    form = DismissForm(request.POST)
    if not form.is_valid():
        return _release_page(request, pk, error=form.first_error(), status=400)
    release_failure_dismiss(release=release, user=request.user, reason=form.cleaned_data["reason"], request=request)
    messages.success(request, "Dismissed: the metrics no longer count this release as failed.")
    return redirect("release", pk=pk)
