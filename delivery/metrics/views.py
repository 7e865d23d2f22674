"""The metrics page (`/metrics/`): the five keys with level, score and trend, the charts, the process figures; and
the evidence page behind each figure. Filters live in the URL."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from delivery.accounts.models import Developer, Role, Team
from delivery.accounts.roles import role_of
from delivery.core.sql import percentile_of
from delivery.github.models import Repository
from delivery.metrics import charts, series
from delivery.metrics.api import may_see
from delivery.metrics.cached import remembered
from delivery.metrics.evidence import FIGURES, evidence, page_number
from delivery.metrics.figures import keys, metrics
from delivery.metrics.levels import AVERAGES_2025
from delivery.metrics.scope import PERIODS, Scope, ScopeError, bot_q, is_partial, scope_from
from delivery.pipeline.models import Change

STAGE_NAMES = {
    "coding": "Coding",
    "pickup": "Pickup",
    "review": "Review",
    "merge_to_staging": "Merge → staging",
    "staging_to_tag": "Staging → tag",
    "tag_to_production": "Tag → production",
}
# (figure, the value compared, True when higher is better)
TRENDS = {
    "deployment_frequency": ("per_week", True),
    "lead_time": ("median_seconds", False),
    "change_failure_rate": ("rate", False),
    "recovery_time": ("median_seconds", False),
    "rework_rate": ("rate", False),
}


def _trend(now: dict[str, Any], before: dict[str, Any] | None) -> dict[str, Any]:
    """Each key against the previous period: up, down or level, and whether that is better (None: not compared)."""
    trends: dict[str, Any] = {}
    for figure, (key, higher_is_better) in TRENDS.items():
        current = now[figure][key]
        previous = None if before is None else before[figure][key]
        if current is None or previous is None:
            trends[figure] = None
            continue
        direction = "level" if current == previous else ("up" if current > previous else "down")
        better = None if direction == "level" else (direction == "up") == higher_is_better
        trends[figure] = {"direction": direction, "better": better, "previous": previous}
    return trends


def _filters(request: HttpRequest, scope: Scope | None) -> dict[str, Any]:
    if role_of(request.user) == Role.ADMIN:  # everyone who authored a change, signed in or not; no bots
        people = Developer.objects.filter(Exists(Change.objects.filter(author=OuterRef("pk")))).exclude(bot_q(""))
    else:
        people = Developer.objects.filter(user__pk=request.user.pk or 0)  # one's own figures only
    people = people.order_by("login")
    return {
        "periods": PERIODS,
        "period": request.GET.get("period") or ("custom" if request.GET.get("from") else "4w"),
        "repositories": Repository.objects.filter(is_active=True)
        .order_by("full_name")
        .values_list("full_name", flat=True),
        "people": people.values_list("login", flat=True),
        "teams": Team.objects.order_by("name").values_list("slug", "name"),
        "params": request.GET,
        "scope": scope,
        "query": request.GET.urlencode(),
    }


def _reviewers(request: HttpRequest, counts: list[tuple[str, int]]) -> dict[str, Any]:
    """Reviews per reviewer: each person's count for admins (who balance the load); for everyone else how many
    people reviewed and the median count (no leaderboard)."""
    numbers = sorted(n for _, n in counts)
    median = percentile_of([float(n) for n in numbers], 0.5)
    return {
        "rows": counts if role_of(request.user) == Role.ADMIN else [],
        "people": len(counts),
        "total": sum(numbers),
        "median": median,
    }


def _page_figures(scope: Scope) -> dict[str, Any]:
    """Everything the page shows of a scope, computed by the database: the figures (with the lead time's bands),
    the previous period's keys (None when either period is partial), the days, the weeks, the reviews per reviewer."""
    figures = metrics(scope, bands=True)
    bands = figures["lead_time"].pop("bands")
    previous = scope.previous()
    days = series.days(scope)
    return {
        "figures": figures,
        "bands": bands,
        "before": None if figures["partial"] or is_partial(previous) else keys(previous),
        "days": days,
        "weeks": series.weeks(scope, days),
        "reviews": series.reviews_per_reviewer(scope),
    }


def metrics_page(request: HttpRequest) -> HttpResponse:
    try:
        scope = scope_from(request.GET)
    except ScopeError as error:
        return render(request, "metrics/page.html", {**_filters(request, None), "error": str(error)}, status=400)
    if not may_see(request.user, scope):
        raise PermissionDenied("One person's figures are shown to that person and to admins only.")
    found = remembered("page", scope, lambda: _page_figures(scope))
    figures = found["figures"]
    context = {
        **_filters(request, scope),
        "figures": figures,
        "previous": scope.previous(),
        "trends": _trend(figures, found["before"]),
        "compared": found["before"] is not None,
        "averages": AVERAGES_2025,
        "per_day": charts.deployments_per_day(found["days"]),
        "bands": charts.bands(found["bands"]),
        "stages": charts.stages(figures["lead_time"]["stages"], STAGE_NAMES),
        "weekly": charts.weekly_lines(found["weeks"]),
        "reviewers": _reviewers(request, found["reviews"]),
    }
    context["weekly"]["failure_points"] = charts.points(context["weekly"]["failure"])
    context["weekly"]["rework_points"] = charts.points(context["weekly"]["rework"])
    context["weekly"]["lead_points"] = charts.points(context["weekly"]["lead"])
    return render(request, "metrics/page.html", context)


def evidence_page(request: HttpRequest) -> HttpResponse:
    figure = request.GET.get("figure", "")
    try:
        scope = scope_from(request.GET)
        rows = evidence(scope, figure, page_number(request.GET.get("page")))
    except ScopeError as error:
        context = {**_filters(request, None), "error": str(error), "figures": FIGURES}
        return render(request, "metrics/evidence.html", context, status=400)
    if not may_see(request.user, scope):
        raise PermissionDenied("One person's figures are shown to that person and to admins only.")
    back = request.GET.copy()
    back.pop("figure", None)
    back.pop("page", None)
    here = request.GET.copy()
    here.pop("page", None)
    context = {
        **_filters(request, scope),
        "evidence": rows,
        "figure": figure,
        "back": back.urlencode(),
        "here": here.urlencode(),
    }
    return render(request, "metrics/evidence.html", context)
