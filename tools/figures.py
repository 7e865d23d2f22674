"""What the benchmarks' figures share: percentiles and the name of the database they ran on. The load generator
uses it too, in a process without Django, so Django is imported only where a database is named."""

from __future__ import annotations

from pathlib import Path


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not ordered:
        return 0.0
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


def database_label() -> str:
    """`PostgreSQL trunkline_bench_board` or `SQLite bench.sqlite3`: where the figures were measured."""
    from django.conf import settings
    from django.db import connection

    name = settings.DATABASES["default"]["NAME"]
    if connection.vendor == "sqlite":
        return f"SQLite {Path(str(name)).name}"
    return f"{connection.vendor.replace('postgresql', 'PostgreSQL')} {name}"
