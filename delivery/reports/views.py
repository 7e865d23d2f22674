"""The report pages: `/reports/` lists the weeks; `/reports/<year>-W<week>/` is the organization's report and
`…/teams/<slug>/` a team's (`?version=n`, the latest by default); Markdown and CSV exports of each. They read the
stored snapshot only."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from delivery.accounts.roles import requires
from delivery.core.calendar import working_calendar
from delivery.core.http import SignedInRequest
from delivery.reports import charts
from delivery.reports.agreements import RULES, SUGGESTION_WEEKS, preview, scope_words, suggestion, weeks_before, words
from delivery.reports.exports import CSV_ROWS, OUTLIER_LISTS, csv_text, markdown
from delivery.reports.forms import AgreementForm
from delivery.reports.models import Agreement, WeeklyReport
from delivery.reports.selectors import (
    ReportMissing,
    agreements_judged,
    agreements_listed,
    report_at,
    report_versions,
    report_weeks,
    versions_with_differences,
)
from delivery.reports.services import agreement_remove, agreement_set
from delivery.reports.weeks import IsoWeek, WeekError


def report_list(request: HttpRequest) -> HttpResponse:
    return render(request, "reports/list.html", {"weeks": report_weeks()})


def _report(request: HttpRequest, week: str, slug: str) -> tuple[IsoWeek, WeeklyReport, list[WeeklyReport]]:
    try:
        iso_week = IsoWeek.parse(week)
        raw = request.GET.get("version")
        version = int(raw) if raw else None
        versions = report_versions(week=iso_week, team_slug=slug)
        return iso_week, report_at(versions, version), versions
    except (WeekError, ReportMissing) as error:
        raise Http404(str(error)) from None
    except ValueError:
        raise Http404("A version is a number.") from None


def title_of(report: WeeklyReport) -> str:
    team = report.figures.get("team")
    who = f"team {team['name']}" if team else "the organization"
    return f"Week {report.week_label} — {who}"


def report_page(request: HttpRequest, week: str, slug: str = "") -> HttpResponse:
    iso_week, report, versions = _report(request, week, slug)
    document = report.figures
    keys = [{**key, "spark": charts.sparkline(key["trend"])} for key in document["keys"]]
    context: dict[str, Any] = {
        "report": report,
        "document": document,
        "keys": keys,
        "title": title_of(report),
        "week": iso_week,
        "slug": slug,
        "versions": versions_with_differences(versions) if len(versions) > 1 else [],
        "latest": versions[-1],
        "sections": list(CSV_ROWS),
        "outlier_lists": [(label, document["outliers"][name]) for name, label in OUTLIER_LISTS.items()],
        "version_query": f"?version={report.version}" if report.version != versions[-1].version else "",
    }
    return render(request, "reports/report.html", context)


def report_markdown(request: HttpRequest, week: str, slug: str = "") -> HttpResponse:
    _, report, _ = _report(request, week, slug)
    text = markdown(report.figures, title=f"{title_of(report)} (version {report.version})")
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    name = f"trunkline-{report.week_label}{'-' + slug if slug else ''}-v{report.version}.md"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


def report_csv(request: HttpRequest, week: str, section: str, slug: str = "") -> HttpResponse:
    if section not in CSV_ROWS:
        raise Http404(f"A report has no section {section[:40]!r}.")
    _, report, _ = _report(request, week, slug)
    response = HttpResponse(csv_text(report.figures, section), content_type="text/csv; charset=utf-8")
    name = f"trunkline-{report.week_label}{'-' + slug if slug else ''}-v{report.version}-{section}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# -- working agreements ---------------------------------------------------------------------------------------------
def _listed(judged: dict[int, list[dict[str, Any] | None]] | None = None) -> list[dict[str, Any]]:
    return [
        {
            "pk": a.pk,
            "words": words(a.kind, a.threshold),
            "scope": scope_words(a.team, a.repositories.all()),
            "created_at": a.created_at,
            "created_by": a.created_by,
            "verdicts": (judged or {}).get(a.pk) or [None] * SUGGESTION_WEEKS,
        }
        for a in agreements_listed()
    ]


def agreement_list(request: HttpRequest) -> HttpResponse:
    """Everyone's page: the agreements, and how the last four stored reports judged each."""
    weeks = weeks_before()
    return render(
        request,
        "reports/agreements.html",
        {"agreements": _listed(agreements_judged(weeks)), "weeks": weeks, "calendar": working_calendar()},
    )


def _settings_page(request: SignedInRequest, form: AgreementForm, *, status: int = 200) -> HttpResponse:
    context: dict[str, Any] = {
        "form": form,
        "agreements": _listed(),
        "chosen": set(),
        "kinds": Agreement.Kind.choices,
        "calendar": working_calendar(),
        "weeks": weeks_before(),
    }
    if form.is_bound and form.is_valid():
        kind, team = form.cleaned_data["kind"], form.cleaned_data["team"]
        repositories = list(form.cleaned_data["repositories"])
        suggested = suggestion(kind, team=team, repositories=repositories)
        threshold = form.cleaned_data["threshold"] or suggested.value
        context.update(
            {
                "suggested": suggested,
                "threshold": threshold,
                "unit": RULES[kind].unit,
                "kind": kind,
                "per_row": RULES[kind].per_row,
                "words": words(kind, threshold),
                "scope": scope_words(team, repositories),
                "preview": preview(kind, threshold, team=team, repositories=repositories),
                "chosen": {r.pk for r in repositories},
            }
        )
    elif form.is_bound:
        context["error"] = form.first_error()
        status = 400
    return render(request, "reports/agreement_settings.html", context, status=status)


@requires("manage_team", "setting working agreements")
def agreement_settings(request: SignedInRequest) -> HttpResponse:
    """GET: the agreements and the form; with a kind chosen, the suggested N and the preview of the last four weeks.
    POST: the agreement saved (N as typed)."""
    if request.method == "POST":
        form = AgreementForm(request.POST)
        if not form.is_valid() or form.cleaned_data["threshold"] is None:
            if form.is_valid():
                form.add_error("threshold", "Give N before saving (the suggestion is a start).")
            return _settings_page(request, form)
        data = form.cleaned_data
        agreement = agreement_set(
            kind=data["kind"],
            threshold=data["threshold"],
            team=data["team"],
            repositories=list(data["repositories"]),
            actor=request.user,
            request=request,
        )
        messages.success(request, f"Agreed: {words(agreement.kind, agreement.threshold)}.")
        return redirect("agreement-settings")
    bound = "kind" in request.GET
    return _settings_page(request, AgreementForm(request.GET if bound else None))


@requires("manage_team", "removing working agreements")
@require_POST
def agreement_remove_view(request: SignedInRequest, pk: int) -> HttpResponse:
    agreement = get_object_or_404(Agreement, pk=pk)
    agreement_remove(agreement=agreement, actor=request.user, request=request)
    messages.success(request, "The agreement is removed; past reports keep what they said of it.")
    return redirect("agreement-settings")
