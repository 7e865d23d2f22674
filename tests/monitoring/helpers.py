"""Stored readings of a watch's signals, as a read would leave them (the pages render from these rows)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from delivery.monitoring.models import MonitoringSession, SignalReading, WatchVerdict


def readings_store(session: MonitoringSession, count: int, *, degraded: bool = True) -> None:
    """`count` Prometheus signals (the first degraded when `degraded`) and the verdict."""
    start = session.window_starts_at
    jumped = [[at, 0.004 if at < 120 or not degraded else 0.08] for at in range(0, 601, 30)]
    steady = [[at, 0.004] for at in range(0, 601, 30)]
    baseline = [[at, 0.004] for at in range(-1800, 1, 30)]
    for n in range(count):
        SignalReading.objects.create(
            session=session,
            signal="Error ratio" if n == 0 else f"Signal {n}",
            source="prometheus",
            position=n,
            unit="ratio",
            rule="above max(2 × baseline, baseline + 1 pp)",
            judgement="degraded" if degraded and n == 0 else "healthy",
            reason="8.0 % since 14:07, 20.0 × the 0.4 % before the deploy" if degraded and n == 0 else "0.4 % now",
            value=(jumped if n == 0 else steady)[-1][1],
            baseline=0.004,
            threshold=0.014,
            degraded_since=start + timedelta(seconds=120) if degraded and n == 0 else None,
            window_points=jumped if n == 0 else steady,
            baseline_points=baseline,
            baseline_seconds=1800,
            read_at=timezone.now(),
            judged_at=timezone.now(),
        )
    WatchVerdict.objects.create(
        session=session,
        verdict="degraded" if degraded else "healthy",
        summary="Error ratio: 8.0 % since 14:07" if degraded else "Every signal within its rule",
        evidence=[{"signal": "Error ratio", "judgement": "degraded", "reason": "8.0 %", "note": ""}],
        degraded_since=start + timedelta(seconds=120) if degraded else None,
        read_at=timezone.now(),
    )


def sentry_reading_store(session: MonitoringSession, *, position: int = 9) -> SignalReading:
    """Sentry's signal with two new issues, one of them over the limit."""
    return SignalReading.objects.create(
        session=session,
        signal="Sentry issues",
        source="sentry",
        position=position,
        unit="issues",
        rule="a new or regressed issue with more than 10 events",
        judgement="degraded",
        reason="1 issue with more than 10 events since 14:07 (2 new, 0 regressed since the deploy)",
        issues=[
            {"title": "KeyError: 'cart'", "url": "https://sentry.example/issues/1/", "count": 47, "kind": "new"},
            {"title": "Slow query", "url": "https://sentry.example/issues/2/", "count": 3, "kind": "new"},
        ],
        errors=1,
        last_error="Sentry's rate limit is spent (429)",
        read_at=timezone.now(),
        judged_at=timezone.now(),
    )
