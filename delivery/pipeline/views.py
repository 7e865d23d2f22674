"""The pipeline board: every change in flight, by stage, refreshed live with htmx."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from delivery.core.http import HtmxHttpRequest
from delivery.github.models import Repository
from delivery.pipeline.models import Change, Release
from delivery.pipeline.selectors import (
    board_columns,
    board_empty_reason,
    board_filter_choices,
    change_detail,
    release_detail,
    repository_detail,
)


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


def release_page(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(Release.objects.only("pk"), pk=pk)
    return render(request, "pipeline/release.html", release_detail(release_id=pk))
