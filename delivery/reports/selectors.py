"""Reading stored reports: the list, one report at a version, what each version changed. Only the stored snapshots
are read (never the figures again), so a past report shows what it said when it was built."""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Count, F, Max, Prefetch, Q, QuerySet

from delivery.github.models import Repository
from delivery.reports.exports import key_value
from delivery.reports.models import Agreement, WeeklyReport
from delivery.reports.weeks import IsoWeek


@dataclass
class ListedWeek:
    label: str
    year: int
    week: int
    organization: dict[str, Any] | None
    teams: list[dict[str, Any]]


def report_weeks(*, limit: int = 104) -> list[ListedWeek]:
    """Every week with a report, newest first: the organization's and each team's, with the latest version (two
    queries whatever the history)."""
    latest = list(
        WeeklyReport.objects.values("iso_year", "iso_week", "team_slug")
        .annotate(version=Max("version"), versions=Count("pk"))
        .order_by("-iso_year", "-iso_week", "team_slug")[: limit * 20]
    )
    names = dict(WeeklyReport.objects.filter(team__isnull=False).values_list("team_slug", "team__name").distinct())
    weeks: dict[tuple[int, int], ListedWeek] = {}
    for row in latest:
        key = (row["iso_year"], row["iso_week"])
        listed = weeks.setdefault(key, ListedWeek(IsoWeek(*key).label, key[0], key[1], None, []))
        entry = {"slug": row["team_slug"], "version": row["version"], "versions": row["versions"]}
        if row["team_slug"]:
            listed.teams.append({**entry, "name": names.get(row["team_slug"], row["team_slug"])})
        else:
            listed.organization = entry
    return list(weeks.values())[:limit]


class ReportMissing(LookupError):
    pass


def report_versions(*, week: IsoWeek, team_slug: str) -> list[WeeklyReport]:
    return list(
        WeeklyReport.objects.filter(iso_year=week.year, iso_week=week.week, team_slug=team_slug)
        .select_related("team")
        .order_by("version")
    )


def report_at(versions: list[WeeklyReport], version: int | None) -> WeeklyReport:
    if not versions:
        raise ReportMissing("No report for this week yet.")
    if version is None:
        return versions[-1]
    for report in versions:
        if report.version == version:
            return report
    raise ReportMissing(f"This report has no version {version}.")


def _summary(document: dict[str, Any]) -> dict[str, Any]:
    """What a reader compares between two versions: each key's value and each section's count."""
    found: dict[str, Any] = {k["label"]: key_value(k) for k in document["keys"]}
    if "agreements" in document:
        found["Agreements broken"] = document["agreements"]["broken"]
    found["Releases shipped"] = document["shipped"]["releases"]
    found["Changes shipped"] = document["shipped"]["changes"]
    found["Failed releases"] = len(document["failed"]["failures"])
    found["Rollbacks"] = len(document["failed"]["rollbacks"])
    found["Watches due"] = document["watch"]["due"]
    found["Watches signed off in time"] = document["watch"]["in_time"]
    for check in document["breaches"]["checks"]:
        found[check["label"]] = check["count"]
    return found


def version_differences(older: dict[str, Any], newer: dict[str, Any]) -> list[dict[str, Any]]:
    """The figures that differ from one version to the next, in the order the report shows them."""
    before, after = _summary(older), _summary(newer)
    return [
        {"what": name, "before": before.get(name), "after": value}
        for name, value in after.items()
        if before.get(name) != value
    ]


def versions_with_differences(versions: list[WeeklyReport]) -> list[dict[str, Any]]:
    listed = []
    for i, report in enumerate(versions):
        differences = version_differences(versions[i - 1].figures, report.figures) if i else []
        listed.append({"report": report, "differences": differences})
    return listed


def agreements_listed() -> QuerySet[Agreement]:
    return (
        Agreement.objects.select_related("team", "created_by")
        .prefetch_related(Prefetch("repositories", queryset=Repository.objects.order_by("full_name")))
        .order_by(F("team__name").asc(nulls_first=True), "kind", "pk")
    )


def agreements_judged(weeks: list[IsoWeek]) -> dict[int, list[dict[str, Any] | None]]:
    """Each agreement's verdict in each of `weeks`, as the organization's stored reports (their latest versions) said
    it: None where no report judged it (one query whatever the history)."""
    reports = WeeklyReport.objects.filter(team_slug="").filter(
        reduce(or_, (Q(iso_year=w.year, iso_week=w.week) for w in weeks), Q(pk__in=[]))
    )
    latest: dict[tuple[int, int], WeeklyReport] = {}
    for stored in reports.order_by("version"):
        latest[(stored.iso_year, stored.iso_week)] = stored
    judged: dict[int, list[dict[str, Any] | None]] = {}
    for i, week in enumerate(weeks):
        found = latest.get((week.year, week.week))
        if found is None:
            continue
        for row in (found.figures.get("agreements") or {}).get("agreements", []):
            judged.setdefault(row["id"], [None] * len(weeks))[i] = {**row, "report": found.week_label}
    return judged
