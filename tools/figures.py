"""What the benchmarks' figures share: percentiles, the name of the database they ran on, a call measured. The load
generator uses it too, in a process without Django, so Django is imported only where a database is used."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


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


def measured(run: Callable[[], Any]) -> tuple[Any, float, int]:
    """What `run` returns, its wall time in ms and the SQL statements it executed (counted by an execute wrapper,
    which outlives the connection closing at each request's end)."""
    import time

    from django.db import connection

    executed: list[str] = []

    def count(execute: Any, sql: str, *rest: Any) -> Any:
        executed.append(sql)
        return execute(sql, *rest)

    with connection.execute_wrapper(count):
        begun = time.perf_counter()
        result = run()
        ms = (time.perf_counter() - begun) * 1000
    return result, round(ms, 1), len(executed)
