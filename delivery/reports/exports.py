"""A report as Markdown (to paste into a retrospective document: headings, lists and plain tables, absolute links)
and as CSV, one section's rows at a time."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from delivery.core.links import absolute_url
from delivery.reports.talking import duration, percent


def key_value(key: dict[str, Any]) -> str:
    """A key's value as the report writes it: "4.0 a week", "9 h", "12 %", "—" when nothing was measured."""
    value = key["value"]
    if value is None:
        return "—"
    if key["unit"] == "per_week":
        return f"{value:.1f} a week"
    if key["unit"] == "rate":
        return percent(value)
    return duration(value)


def _day(moment: str | None) -> str:
    return "" if not moment else datetime.fromisoformat(moment).strftime("%a %-d %b %H:%M")


def _md(text: Any) -> str:
    """Text from people or GitHub, safe in a Markdown table cell or list item."""
    return str(text or "").replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("*", "\\*")


def _link(label: Any, url: str | None) -> str:
    """A Markdown link: Trunkline's own pages as the public address names them, anything else (ClickUp's tasks) as
    it is."""
    if not url:
        return _md(label)
    return f"[{_md(label)}]({url if url.startswith(('http://', 'https://')) else absolute_url(url)})"


def _change(row: dict[str, Any]) -> str:
    number = f"#{row['number']} " if row.get("number") else ""
    by = f" ({_md(row['author'])})" if row.get("author") else ""
    return f"{_link(number + row['title'], row['url'])}{by}"


def markdown(document: dict[str, Any], *, title: str) -> str:
    lines = [f"# {title}", "", f"{document['from']} to {document['to']} ({document['time_zone']})", ""]
    if document.get("partial"):
        lines += ["_This week starts before the synced history: its figures miss what came before._", ""]
    lines += ["## The five keys", "", "| key | this week | level | score | 4 weeks before |", "|---|---|---|---|---|"]
    for key in document["keys"]:
        before = " → ".join(key_value({**key, "value": t["value"]}) for t in key["trend"][:-1])
        score = "" if key["score"] is None else f"{key['score']:g}"
        lines.append(
            f"| {_link(key['label'], key['evidence'])} | {key_value(key)} | {key['level'] or ''} | {score} | {before} |"
        )
    lines += agreements_markdown(document)
    shipped = document["shipped"]
    lines += ["", "## What shipped", "", f"{shipped['releases']} releases, {shipped['changes']} changes.", ""]
    for repository in shipped["repositories"]:
        lines.append(f"### {_md(repository['name'])}")
        lines.append("")
        for release in repository["releases"]:
            failed = " — **failed**" if release["failed"] else ""
            owners = ", ".join(release["owners"]) or "nobody known"
            lines.append(
                f"- {_link(release['tag'], release['url'])}, {_day(release['deployed_at'])}, "
                f"owners {_md(owners)}{failed}"
            )
            lines.extend(f"  - {_change(c)}" for c in release["changes"])
        lines.append("")
    failed = document["failed"]
    lines += ["## What failed", ""]
    if not (failed["failures"] or failed["rollbacks"] or failed["fixes"]):
        lines += ["Nothing failed.", ""]
    for row in failed["failures"]:
        recovery = (
            f"recovered in {duration(row['recovery_seconds'])}"
            if row["recovery_seconds"] is not None
            else "not recovered yet"
        )
        notes = "".join(f" Notes: {_md(n)}" for n in row["notes"])
        lines.append(
            f"- {_link(row['repository'] + ' ' + row['tag'], row['url'])}: {_md(row['why'])}; {recovery}.{notes}"
        )
    for row in failed["rollbacks"]:
        undone = f" (undid {_md(', '.join(row['undone']))})" if row["undone"] else ""
        how = " (a rollback deployment, not asked in Trunkline)" if row.get("via") == "deployment" else ""
        lines.append(
            f"- Rollback of {_md(row['repository'])} to {_link(row['target'], row['url'])}{undone}{how} by "
            f"{_md(row['by'] or 'someone')}, {_day(row['requested_at'])}: {_md(row['reason'] or '—')}"
            + _recovered_markdown(row)
        )
    for row in failed["fixes"]:
        if row["fixes"]:
            what = f"fixes {_link(row['fixes'], row['fixes_url'])}" + (
                f" ({_md(row['reason'])})" if row.get("reason") else ""
            )
        else:
            what = _md(row.get("why") or "fixes an earlier release")
        brings = "; ".join(f"{_change(c)} from {_md(c['branch'])}" for c in row.get("changes", []))
        lines.append(
            f"- Fix forward: {_link(row['repository'] + ' ' + row['tag'], row['url'])}, {_day(row['deployed_at'])}: "
            f"{what}" + (f": {brings}" if brings else "") + _recovered_markdown(row)
        )
    watch = document["watch"]
    lines += ["", "## The watch", "", f"{watch['in_time']} of {watch['due']} watches signed off in time.", ""]
    signals = watch.get("signals")  # reports stored before the watch read production have none
    if signals and signals["releases"]:
        lines += [f"Production read degraded: {_md(signals['words'])}.", ""]
        lines.extend(
            f"- Degraded: {_link(row['repository'] + ' ' + row['tag'], row['url'])} ({_md(row['owner'])}): "
            f"{_md(', '.join(row['signals']) or 'production')}"
            for row in signals["rows"]
        )
        lines.append("")
    lines.extend(
        f"- Overdue: {_link(row['repository'] + ' ' + row['tag'], row['url'])} ({_md(row['owner'])}), window ended "
        f"{_day(row['window_ends_at'])}"
        + (f", signed off {_day(row['signed_off_at'])}" if row["signed_off_at"] else ", not signed off")
        for row in watch["overdue"]
    )
    lines += ["", "## Process breaches", ""]
    for check in document["breaches"]["checks"]:
        lines.append(f"- {check['label']}: {check['count']}")
        lines.extend(f"  - {_change(row)}" for row in check["rows"][:20])
    lines += tasks_markdown(document.get("tasks"))
    outliers = document["outliers"]
    lines += ["", "## Outliers", ""]
    for name, label in OUTLIER_LISTS.items():
        if outliers[name]:
            lines.append(f"- {label}: " + "; ".join(f"{_change(r)} {duration(r['seconds'])}" for r in outliers[name]))
    lines += ["", "## Talking points", ""]
    for point in document["talking_points"]:
        evidence = ", ".join(_link(e["label"], e["url"]) for e in point["evidence"])
        lines.append(f"- {_md(point['text'])}" + (f" ({evidence})" if evidence else ""))
    return "\n".join(lines).rstrip() + "\n"


def _recovered_markdown(row: dict[str, Any]) -> str:
    """ "; recovered acme/api v1.2.0 in 24 min" for each failure a rollback or a fix recovered."""
    return "".join(
        f"; recovered {_link(r['repository'] + ' ' + r['tag'], r['url'])}"
        + ("" if r["recovery_seconds"] is None else f" in {duration(r['recovery_seconds'])}")
        for r in row.get("recovered") or []
    )


def tasks_markdown(tasks: dict[str, Any] | None) -> list[str]:
    """The ClickUp tasks section (none in a report stored before schema 3)."""
    if not tasks:
        return []
    lines = [
        "",
        "## ClickUp tasks",
        "",
        f"{tasks['delivered']} delivered, {tasks['verified']} verified in production.",
        "",
    ]
    lines.extend(
        f"- {_link(row['label'], row['url'])} {_md(row['name'])}" + (" (verified)" if row["verified"] else "")
        for row in tasks["rows"]
    )
    if tasks["required"]:
        lines += ["", f"Merged without a task where one is required: {tasks['without_task_count']}"]
        lines.extend(f"- {_change(row)}" for row in tasks["without_task"][:20])
    return lines


def agreements_markdown(document: dict[str, Any]) -> list[str]:
    """Section 2: each agreement kept or broken, with the rows that broke it (nothing for a report stored before
    the agreements were judged)."""
    found = document.get("agreements")
    if found is None:
        return []
    lines = ["", "## Working agreements", ""]
    if not found["agreements"]:
        return [*lines, f"No working agreements yet ({_link('set them', found['url'])})."]
    lines += [f"{found['kept']} kept, {found['broken']} broken.", ""]
    for a in found["agreements"]:
        lines.append(f"- **{a['status']}**: {_md(a['words'])} ({_md(a['scope'])})")
        lines.extend(f"  - {_change(row)}: {_md(row['value_text'])}" for row in a["breaks"][:20])
        if a["breaks_count"] > 20:
            lines.append(f"  - and {a['breaks_count'] - 20} more (CSV)")
    return lines


OUTLIER_LISTS = {
    "longest_lived": "Longest-lived PRs (first commit → merge)",
    "slowest_pickups": "Slowest pickups (ready → first review)",
    "slowest_reviews": "Slowest reviews (first review → merge)",
    "longest_waits": "Longest waits between stages",
}


def _rows_keys(document: dict[str, Any]) -> Iterator[list[Any]]:
    yield ["key", "week", "value", "level", "score", "evidence"]
    for key in document["keys"]:
        for point in key["trend"]:
            current = point["week"] == document["week"]
            yield [
                key["key"],
                point["week"],
                point["value"],
                key["level"] if current else "",
                key["score"] if current else "",
                absolute_url(key["evidence"]) if current else "",
            ]


def _rows_agreements(document: dict[str, Any]) -> Iterator[list[Any]]:
    yield ["agreement", "scope", "status", "value", "repository", "pull_request", "title", "author", "why", "url"]
    for a in (document.get("agreements") or {}).get("agreements", []):
        base = [a["words"], a["scope"], a["status"], a["value"]]
        if not a["breaks"]:
            yield [*base, "", "", "", "", "", ""]
        for r in a["breaks"]:
            yield [
                *base,
                r["repository"],
                r["number"],
                r["title"],
                r["author"],
                r["value_text"],
                absolute_url(r["url"]),
            ]


def _rows_shipped(document: dict[str, Any]) -> Iterator[list[Any]]:
    yield [
        "repository",
        "release",
        "deployed_at",
        "owners",
        "failed",
        "unplanned",
        "pull_request",
        "title",
        "author",
        "url",
    ]
    for repository in document["shipped"]["repositories"]:
        for release in repository["releases"]:
            base = [
                repository["name"],
                release["tag"],
                release["deployed_at"],
                " ".join(release["owners"]),
                release["failed"],
                release["unplanned"],
            ]
            for change in release["changes"] or [{"number": "", "title": "", "author": "", "url": release["url"]}]:
                yield [*base, change["number"], change["title"], change["author"], absolute_url(change["url"])]


def _rows_failed(document: dict[str, Any]) -> Iterator[list[Any]]:
    yield [
        "repository",
        "release",
        "why",
        "notes",
        "failed_at",
        "recovered_at",
        "recovery_seconds",
        "provisional",
        "url",
    ]
    for r in document["failed"]["failures"]:
        yield [
            r["repository"],
            r["tag"],
            r["why"],
            " / ".join(r["notes"]),
            r["failed_at"],
            r["recovered_at"],
            r["recovery_seconds"],
            r["provisional"],
            absolute_url(r["url"]),
        ]


def _recovered(row: dict[str, Any]) -> tuple[str, str]:
    """The failures a rollback or a fix recovered and how long each took (seconds), as two cells."""
    recovered = row.get("recovered") or []
    return (
        " ".join(f"{r['repository']} {r['tag']}" for r in recovered),
        " ".join("" if r["recovery_seconds"] is None else str(r["recovery_seconds"]) for r in recovered),
    )


def _rows_rollbacks(document: dict[str, Any]) -> Iterator[list[Any]]:
    yield [
        "via",
        "repository",
        "target",
        "undone",
        "state",
        "reason",
        "by",
        "requested_at",
        "deployed_at",
        "recovered",
        "recovery_seconds",
        "url",
    ]
    for r in document["failed"]["rollbacks"]:
        yield [
            r.get("via", "trunkline"),  # reports stored before listed Trunkline's rollbacks only
            r["repository"],
            r["target"],
            " ".join(r["undone"]),
            r["state"],
            r["reason"],
            r["by"],
            r["requested_at"],
            r.get("deployed_at"),
            *_recovered(r),
            absolute_url(r["url"]),
        ]


def _rows_fixes(document: dict[str, Any]) -> Iterator[list[Any]]:
    yield [
        "repository",
        "release",
        "deployed_at",
        "why",
        "fixes",
        "reason",
        "changes",
        "recovered",
        "recovery_seconds",
        "url",
    ]
    for r in document["failed"]["fixes"]:
        changes = " ".join(f"#{c['number']} {c['branch']}".strip() for c in r.get("changes", []))
        yield [
            r["repository"],
            r["tag"],
            r["deployed_at"],
            r.get("why", "fixes an earlier release"),  # reports stored before listed named fixes only
            r["fixes"],
            r.get("reason", ""),
            changes,
            *_recovered(r),
            absolute_url(r["url"]),
        ]


def _rows_watch(document: dict[str, Any]) -> Iterator[list[Any]]:
    yield ["repository", "release", "owner", "window_ends_at", "signed_off_at", "decision", "url"]
    for r in document["watch"]["overdue"]:
        yield [
            r["repository"],
            r["tag"],
            r["owner"],
            r["window_ends_at"],
            r["signed_off_at"],
            r["decision"],
            absolute_url(r["url"]),
        ]


def _rows_breaches(document: dict[str, Any]) -> Iterator[list[Any]]:
    yield ["check", "repository", "pull_request", "title", "author", "merged_at", "url"]
    for check in document["breaches"]["checks"]:
        for r in check["rows"]:
            yield [
                check["check"],
                r["repository"],
                r["number"],
                r["title"],
                r["author"],
                r["merged_at"],
                absolute_url(r["url"]),
            ]


def _rows_outliers(document: dict[str, Any]) -> Iterator[list[Any]]:
    yield ["list", "stage", "repository", "pull_request", "title", "author", "seconds", "url"]
    for name in OUTLIER_LISTS:
        for r in document["outliers"][name]:
            yield [
                name,
                r.get("stage", ""),
                r["repository"],
                r["number"],
                r["title"],
                r["author"],
                r["seconds"],
                absolute_url(r["url"]),
            ]


def _rows_tasks(document: dict[str, Any]) -> Iterator[list[Any]]:
    yield ["task", "name", "status", "verified", "pull_requests", "url"]
    for r in (document.get("tasks") or {}).get("rows", []):
        numbers = " ".join(f"{c['repository']}#{c['number']}" for c in r["changes"])
        yield [r["label"], r["name"], r["status"], r["verified"], numbers, r["url"]]
    for c in (document.get("tasks") or {}).get("without_task", []):
        yield ["", "(no task)", "", "", f"{c['repository']}#{c['number']}", absolute_url(c["url"])]


def _rows_talking_points(document: dict[str, Any]) -> Iterator[list[Any]]:
    yield ["rule", "text", "evidence"]
    for p in document["talking_points"]:
        yield [p["rule"], p["text"], " ".join(absolute_url(e["url"]) for e in p["evidence"])]


CSV_ROWS: dict[str, Callable[[dict[str, Any]], Iterator[list[Any]]]] = {
    "keys": _rows_keys,
    "agreements": _rows_agreements,
    "shipped": _rows_shipped,
    "failed": _rows_failed,
    "rollbacks": _rows_rollbacks,
    "fix-forwards": _rows_fixes,
    "watch": _rows_watch,
    "breaches": _rows_breaches,
    "outliers": _rows_outliers,
    "tasks": _rows_tasks,
    "talking-points": _rows_talking_points,
}


def csv_text(document: dict[str, Any], section: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in CSV_ROWS[section](document):
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()
