"""The page's charts as SVG geometry (drawn by the template, no script and no network): bars per day, bars per band,
one stacked bar of stage medians, a line per week. Coordinates in a fixed viewBox that the page scales."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from delivery.metrics.series import Day, Week

WIDTH, HEIGHT, BASE = 720, 180, 150  # BASE: the y of the bars' foot; labels below it


@dataclass
class Bar:
    x: float
    width: float
    y: float
    height: float
    kind: str
    label: str


def ticks(dates: list[date], most: int = 5) -> list[str]:
    """A label for each slot under a chart (a day's bar, a week's point), of which up to `most` evenly spaced ones,
    first and last included, are written and the others left blank. HTML lays the slots out with the chart's own
    step, so each label sits under its bar or point (text inside a stretched SVG would stretch too)."""
    picks = (
        {round(i * (len(dates) - 1) / (most - 1)) for i in range(most)} if len(dates) > most else set(range(len(dates)))
    )
    return [d.strftime("%-d %b") if i in picks else "" for i, d in enumerate(dates)]


def _scale(peak: float) -> float:
    return (BASE - 20) / peak if peak > 0 else 0.0


def deployments_per_day(days: list[Day]) -> dict[str, Any]:
    """A bar per day (releases, rollbacks stacked on them) and a red mark on days with a failed release."""
    n = max(len(days), 1)
    step = WIDTH / n
    width = max(step * 0.7, 1.0)
    peak = max((d.releases + d.rollbacks for d in days), default=0)
    k = _scale(peak)
    bars, marks = [], []
    for i, d in enumerate(days):
        x = i * step + (step - width) / 2
        when = d.day.strftime("%a %-d %b")
        h_rel, h_rb = d.releases * k, d.rollbacks * k
        if d.releases:
            bars.append(Bar(x, width, BASE - h_rel, h_rel, "release", f"{when}: {d.releases} deployed"))
        if d.rollbacks:
            bars.append(Bar(x, width, BASE - h_rel - h_rb, h_rb, "rollback", f"{when}: {d.rollbacks} rolled back"))
        if d.failed:
            marks.append({"x": x + width / 2, "y": BASE - h_rel - h_rb - 8, "label": f"{when}: {d.failed} failed"})
    return {"bars": bars, "marks": marks, "peak": peak, "ticks": ticks([d.day for d in days]), "empty": peak == 0}


def bands(buckets: list[tuple[str, int]]) -> dict[str, Any]:
    """Horizontal bars: how many changes in each band of lead time (widths as percentages)."""
    peak = max((n for _, n in buckets), default=0)
    rows = [{"label": label, "n": n, "percent": round(100 * n / peak, 1) if peak else 0} for label, n in buckets]
    return {"rows": rows, "empty": peak == 0}


def stages(medians: dict[str, float | None], names: dict[str, str]) -> dict[str, Any]:
    """One bar cut into the stages' medians, in order (the verified stage is left out: it is shown apart)."""
    parts = [(key, medians.get(key)) for key in names]
    known = [(key, v) for key, v in parts if v is not None and v > 0]
    total = sum(v for _, v in known)
    segments, offset = [], 0.0
    for key, v in known:
        percent = 100 * v / total
        segments.append({"key": key, "label": names[key], "seconds": v, "percent": percent, "offset": offset})
        offset += percent
    return {"segments": segments, "total": total, "empty": not segments}


def weekly_lines(weeks: list[Week]) -> dict[str, Any]:
    """Per week: change failure rate and rework rate (0 to 100 %, shared axis), and the median lead time (own axis)."""
    n = len(weeks)
    step = WIDTH / max(n, 1)

    def line(values: list[float | None], peak: float) -> list[dict[str, Any]]:
        k = _scale(peak)
        return [
            {"x": round(i * step + step / 2, 1), "y": round(BASE - v * k, 1), "value": v}
            for i, v in enumerate(values)
            if v is not None
        ]

    failure = [w.failure_rate for w in weeks]
    rework = [w.rework_rate for w in weeks]
    lead = [w.lead_median for w in weeks]
    rate_peak = max([v for v in failure + rework if v is not None] + [0.1])
    lead_peak = max([v for v in lead if v is not None], default=0.0)
    return {
        "failure": line(failure, rate_peak),
        "rework": line(rework, rate_peak),
        "lead": line(lead, lead_peak),
        "rate_peak": rate_peak,
        "lead_peak": lead_peak,
        "ticks": ticks([w.starts for w in weeks]),
        "weeks": weeks,
    }


def points(line: list[dict[str, Any]]) -> str:
    return " ".join(f"{p['x']},{p['y']}" for p in line)
