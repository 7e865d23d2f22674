"""A key's trend over five weeks as a sparkline: SVG geometry the template draws (no script, prints as it shows)."""

from __future__ import annotations

from typing import Any

WIDTH, HEIGHT, PAD = 120, 32, 4


def sparkline(trend: list[dict[str, Any]]) -> dict[str, Any]:
    values = [point["value"] for point in trend]
    known = [v for v in values if v is not None]
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)
    low, high = (min(known), max(known)) if known else (0.0, 0.0)
    span = (high - low) or 1.0
    dots = [
        {
            "x": round(PAD + i * step, 1),
            "y": round(HEIGHT - PAD - (v - low) / span * (HEIGHT - 2 * PAD), 1) if high != low else HEIGHT / 2,
            "week": trend[i]["week"],
            "value": v,
            "last": i == len(values) - 1,
        }
        for i, v in enumerate(values)
        if v is not None
    ]
    return {"points": " ".join(f"{d['x']},{d['y']}" for d in dots), "dots": dots, "empty": not dots}
