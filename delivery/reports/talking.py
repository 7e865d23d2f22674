"""Talking points: a few sentences written from a report's figures by fixed rules (no free text from a model), each
with the rows that support it. Rules run in order of how much a retrospective needs them; the first six that
have something to say are kept."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

MOST = 6
OVER_A_DAY = 86_400
"""Seconds: a pull request waited "more than a day" for its first review past this (the report's count and list)."""
NUMBERS = ["No", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten"]


def number(n: int, *, capital: bool = True) -> str:
    word = NUMBERS[n] if n < len(NUMBERS) else str(n)
    return word if capital else word.lower()


def plural(n: int, one: str, many: str | None = None) -> str:
    return one if n == 1 else (many or f"{one}s")


def duration(seconds: float | None) -> str:
    """ "45 min", "9 h", "3 d": as short as a sentence wants it."""
    if seconds is None:
        return "—"
    minutes = seconds / 60
    if minutes < 60:
        return f"{max(round(minutes), 0)} min"
    hours = minutes / 60
    if hours < 48:
        return f"{round(hours)} h"
    return f"{round(hours / 24)} d"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{100 * rate:.0f} %"


def part_of_day(moment: datetime) -> str:
    return "morning" if moment.hour < 12 else "afternoon" if moment.hour < 18 else "evening"


def _change_label(row: dict[str, Any]) -> str:
    """`billing#42` (numbers repeat across repositories), else the title."""
    name = row["repository"].rsplit("/", 1)[-1]
    return f"{name}#{row['number']}" if row.get("number") else row["title"][:40]


def _evidence(rows: list[dict[str, Any]], label: Any, most: int = 5) -> list[dict[str, str]]:
    return [{"label": label(r), "url": r["url"]} for r in rows[:most]]


def _moved(now: float | None, before: float | None, *, ratio: float = 0.25, at_least: float = 0.0) -> bool:
    if now is None or before is None or now == before:
        return False
    return abs(now - before) >= max(ratio * max(abs(before), abs(now)), at_least)


def _key(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(k for k in document["keys"] if k["key"] == name)


def _previous(key: dict[str, Any]) -> Any:
    trend = key["trend"]
    return trend[-2]["value"] if len(trend) > 1 else None


def rollbacks(document: dict[str, Any]) -> dict[str, Any] | None:
    rows = document["failed"]["rollbacks"]
    if not rows:
        return None
    by_repository = Counter(r["repository"].rsplit("/", 1)[-1] for r in rows)
    moments = [datetime.fromisoformat(r["requested_at"]) for r in rows]
    n = len(rows)
    if len(by_repository) == 1:
        where = f" in {next(iter(by_repository))}"
    else:
        where = " (" + ", ".join(f"{count} in {name}" for name, count in by_repository.most_common()) + ")"
    text = f"{number(n)} {plural(n, 'rollback')}{where}"
    days = {m.strftime("%A") for m in moments}
    parts = {part_of_day(m) for m in moments}
    if len(days) == 1:
        together = "" if n == 1 else ("both " if n == 2 else "all ")
        text += f", {together}on {days.pop()} {parts.pop() if len(parts) == 1 else ''}".rstrip()
    reasons = [r["reason"] for r in rows if r["reason"]]
    if reasons:
        text += f": “{reasons[0][:120]}”" + (" and more" if len(reasons) > 1 else "")
    return {"text": text + ".", "evidence": _evidence(rows, lambda r: f"{r['repository']} → {r['target']}")}


def failures(document: dict[str, Any]) -> dict[str, Any] | None:
    key = _key(document, "change_failure_rate")
    rate, before = key["value"], _previous(key)
    rows = document["failed"]["failures"]
    if not rows and not _moved(rate, before, ratio=0.0):
        return None
    figures = document["figures"]["change_failure_rate"]
    failed = "None" if figures["failed"] == 0 else number(figures["failed"])
    text = (
        f"{failed} of {figures['releases']} {plural(figures['releases'], 'release')} failed "
        f"(change failure rate {percent(rate)}"
    )
    text += f", {percent(before)} the week before)" if before is not None else ")"
    recovery = document["figures"]["recovery_time"]["median_seconds"]
    if recovery is not None:
        text += f"; recovery took {duration(recovery)} at the median"
    return {"text": text + ".", "evidence": _evidence(rows, lambda r: f"{r['repository']} {r['tag']}: {r['why']}")}


def _named(rows: list[dict[str, Any]], total: int, most: int = 3) -> str:
    """ "api#1, api#2 and api#3", "api#1, api#2, api#3 and 9 more": the first rows of a list of `total`."""
    labels = [_change_label(r) for r in rows[:most]]
    if total > len(labels):
        return f"{', '.join(labels)} and {total - len(labels)} more"
    return " and ".join([", ".join(labels[:-1]), labels[-1]]) if len(labels) > 1 else "".join(labels)


def pickup(document: dict[str, Any]) -> dict[str, Any] | None:
    """The pickup median moved, or PRs waited more than a day (OVER_A_DAY seconds) for a first review: the count
    is the report's (`pickups_over_a_day`) and the PRs named and listed are the slowest pickups past the same line."""
    now = document["figures"]["lead_time"]["stages"].get("pickup")
    before = document["previous_stages"].get("pickup")
    waited = document["outliers"]["pickups_over_a_day"]
    over = [r for r in document["outliers"]["slowest_pickups"] if (r["seconds"] or 0) > OVER_A_DAY][:waited]
    if not _moved(now, before, at_least=1800):
        if not waited:
            return None
        text = f"{number(waited)} {plural(waited, 'PR')} waited more than a day for a first review: "
        return {"text": text + _named(over, waited) + ".", "evidence": _evidence(over, _change_label)}
    assert now is not None and before is not None
    text = f"Review pickup median {'rose' if now > before else 'fell'} from {duration(before)} to {duration(now)}"
    if waited:
        text += f" ({waited} {plural(waited, 'PR')} waited more than a day: {_named(over, waited)})"
    return {"text": text + ".", "evidence": _evidence(over or document["outliers"]["slowest_pickups"], _change_label)}


def lead(document: dict[str, Any]) -> dict[str, Any] | None:
    key = _key(document, "lead_time")
    now, before = key["value"], _previous(key)
    if not _moved(now, before, at_least=3600):
        return None
    verb = "rose" if now > before else "fell"
    text = f"Median lead time {verb} from {duration(before)} to {duration(now)}"
    return {
        "text": text + ".",
        "evidence": [{"label": "Lead times this week", "url": key["evidence"]}],
    }


def watches(document: dict[str, Any]) -> dict[str, Any] | None:
    watch = document["watch"]
    late = watch["due"] - watch["in_time"]
    if not late:
        return None
    text = (
        f"{number(late)} of {watch['due']} {plural(watch['due'], 'watch', 'watches')} "
        f"{plural(late, 'was', 'were')} not signed off in time"
    )
    owners = sorted({r["owner"] for r in watch["overdue"]})
    if owners and len(owners) <= 3:
        text += f" ({', '.join(owners)})"
    return {"text": text + ".", "evidence": _evidence(watch["overdue"], lambda r: f"{r['repository']} {r['tag']}")}


def signals_line(signals: dict[str, Any]) -> str:
    """`2 releases degraded error ratio, 1 p95 latency; 1 rolled back within 6 min` ("" when none did)."""
    if not signals["releases"]:
        return ""
    parts = [
        f"{row['releases']} {plural(row['releases'], 'release')} degraded {row['signal'].lower()}"
        if i == 0
        else f"{row['releases']} {row['signal'].lower()}"
        for i, row in enumerate(signals["by_signal"])
    ] or [f"{signals['releases']} {plural(signals['releases'], 'release')} degraded production"]
    line = ", ".join(parts)
    if signals["rolled_back"]:
        line += f"; {signals['rolled_back']} rolled back"
        if signals["rolled_back_within_seconds"] is not None:
            line += f" within {duration(signals['rolled_back_within_seconds'])}"
    return line


def degraded(document: dict[str, Any]) -> dict[str, Any] | None:
    signals = document["watch"].get("signals")  # reports stored before the watch read production have none
    if not signals or not signals["releases"]:
        return None
    text = signals_line(signals)
    return {
        "text": text[:1].upper() + text[1:] + ".",
        "evidence": _evidence(signals["rows"], lambda r: f"{r['repository']} {r['tag']}"),
    }


def breaches(document: dict[str, Any]) -> dict[str, Any] | None:
    checks = [c for c in document["breaches"]["checks"] if c["count"]]
    if not checks:
        return None
    worst = max(checks, key=lambda c: c["count"])
    n = worst["count"]
    what = {
        "stale": "merged from a branch older than its age limit",
        "review_breach": "merged without the required approvals",
        "merge_breach": "merged other than by squash",
        "no_preview": "merged without a preview deployment",
    }[worst["check"]]
    return {
        "text": f"{number(n)} {plural(n, 'PR')} {what}: {_named(worst['rows'], n)}.",
        "evidence": _evidence(worst["rows"], _change_label),
    }


def deployments(document: dict[str, Any]) -> dict[str, Any] | None:
    shipped = document["shipped"]
    key = _key(document, "deployment_frequency")
    before = _previous(key)
    n = shipped["releases"]
    if n == 0:
        text = "Nothing reached production this week"
        if before:
            text += f" ({before:g} {plural(int(before), 'release')} the week before)"
        return {"text": text + ".", "evidence": [{"label": "Deployments", "url": key["evidence"]}]}
    repos = len(shipped["repositories"])
    text = (
        f"{number(n)} {plural(n, 'release')} brought {shipped['changes']} {plural(shipped['changes'], 'change')} "
        f"to production in {repos} {plural(repos, 'repository', 'repositories')}"
    )
    if before is not None and before != n:
        text += f", {'up' if n > before else 'down'} from {before:g} the week before"
    return {"text": text + ".", "evidence": [{"label": "Deployments", "url": key["evidence"]}]}


def slowest(document: dict[str, Any]) -> dict[str, Any] | None:
    rows = document["outliers"]["longest_lead"]
    if not rows or rows[0]["seconds"] is None or rows[0]["seconds"] < timedelta(days=2).total_seconds():
        return None
    row = rows[0]
    text = (
        f"The slowest change took {duration(row['seconds'])} from its first commit to production: "
        f"{_change_label(row)} “{row['title'][:80]}” in {row['repository']}"
    )
    return {"text": text + ".", "evidence": _evidence(rows[:1], _change_label)}


RULES = [rollbacks, failures, degraded, pickup, lead, watches, breaches, deployments, slowest]


def talking_points(document: dict[str, Any]) -> list[dict[str, Any]]:
    points = []
    for rule in RULES:
        point = rule(document)
        if point is not None:
            points.append({"rule": rule.__name__, **point})
    return points[:MOST]
