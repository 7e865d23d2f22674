"""The report pages: `/reports/` lists the weeks; `/reports/<year>-W<week>/` is the organization's report and
`…/teams/<slug>/` a team's (`?version=n`, the latest by default); Markdown and CSV exports of each. They read the
stored snapshot only."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from delivery.reports import charts
from delivery.reports.exports import CSV_ROWS, OUTLIER_LISTS, csv_text, markdown
from delivery.reports.models import WeeklyReport
from delivery.reports.selectors import (
    ReportMissing,
    report_at,
    report_versions,
    report_weeks,
    versions_with_differences,
)
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
