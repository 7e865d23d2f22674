"""A watch's signal as a small chart: SVG geometry the template draws (no script, no network), in the metrics page's
fixed viewBox and line styles (delivery.metrics.charts). One time axis: the baseline before the deploy on the left
half, the window after it on the right half (it fills in as the window runs), the deploy marked between them, the
rule's threshold dashed, and the degraded stretch shaded."""

from __future__ import annotations

from typing import Any

from delivery.github.signal_settings import value_words
from delivery.metrics.charts import BASE, WIDTH, points
from delivery.monitoring.models import Judgement, SignalReading

TOP = 12
"""Room above the highest value (the viewBox's y grows downwards, BASE is the foot)."""


def _minutes(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"


def signal_chart(reading: SignalReading) -> dict[str, Any] | None:
    """The chart of a Prometheus signal; None for a signal with no series (Sentry's, or nothing read yet)."""
    window = reading.window_points or []
    baseline = reading.baseline_points or []
    if reading.source != SignalReading.Source.PROMETHEUS or not (window or baseline):
        return None
    span = reading.baseline_seconds or max([abs(at) for at, _ in window + baseline] + [60])
    values = [value for _, value in window + baseline]
    if reading.threshold is not None:
        values.append(reading.threshold)
    peak = max([*values, 0.0]) * 1.15 or 1.0
    half = WIDTH / 2

    def x(at: float) -> float:
        return round(min(max(half + at / span * half, 0.0), float(WIDTH)), 1)

    def y(value: float) -> float:
        return round(BASE - max(value, 0.0) / peak * (BASE - TOP), 1)

    def line(rows: list[list[float]]) -> list[dict[str, float]]:
        return [{"x": x(at), "y": y(value)} for at, value in rows]

    span_box = None
    if reading.judgement == Judgement.DEGRADED and reading.degraded_since is not None and window:
        since = x((reading.degraded_since - reading.session.window_starts_at).total_seconds())
        end = x(window[-1][0])
        span_box = {"x": since, "width": round(max(end - since, 2.0), 1)}  # the degraded stretch, shaded
    unit = reading.unit
    return {
        "baseline": points(line(baseline)),
        "window": points(line(window)),
        "deploy_x": half,
        "threshold_y": y(reading.threshold) if reading.threshold is not None else None,
        "degraded_span": span_box,
        "peak": value_words(peak, unit),
        "ticks": [f"{_minutes(span)} before", "deploy", f"{_minutes(span)} after"],
        "words": (
            f"Before the deploy: {value_words(reading.baseline, unit)} (median). After it: "
            f"{value_words(reading.value, unit)} now."
            + (f" Degraded above {value_words(reading.threshold, unit)}." if reading.threshold is not None else "")
        ),
    }
