"""SQL the ORM does not spell, the same on PostgreSQL and on the demo's SQLite: seconds between two times, and a
continuous percentile computed by the database (PostgreSQL's `percentile_cont`; on SQLite the same interpolation,
registered on each connection as an aggregate of that name)."""

from __future__ import annotations

import math
from typing import Any

from django.db.backends.signals import connection_created
from django.db.models import Aggregate, FloatField, Func
from django.dispatch import receiver


class SecondsBetween(Func):
    """`end - start` in seconds (a float), NULL when either is NULL."""

    output_field = FloatField()

    def __init__(self, end: Any, start: Any, **extra: Any) -> None:
        super().__init__(end, start, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        template = "EXTRACT(EPOCH FROM (%(expressions)s))::double precision"
        return super().as_sql(compiler, connection, template=template, arg_joiner=" - ", **extra_context)

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        # Django's own SQLite function: the difference of two stored times in microseconds.
        template = "(django_timestamp_diff(%(expressions)s) / 1000000.0)"
        return super().as_sql(compiler, connection, template=template, arg_joiner=", ", **extra_context)


class Percentile(Aggregate):
    """The continuous percentile `fraction` (0.5: the median) of an expression, interpolated between the two
    nearest values as PostgreSQL's `percentile_cont` does; NULL over no rows (NULL values are left out)."""

    function = "percentile_cont"
    output_field = FloatField()
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("a percentile's fraction is between 0 and 1")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return super().as_sql(compiler, connection, template="%(function)s(%(fraction)s, %(expressions)s)")


class _SQLitePercentile:
    """`percentile_cont(fraction, value)` for SQLite: PostgreSQL's interpolation, in the SQLite process."""

    def __init__(self) -> None:
        self.fraction = 0.5
        self.values: list[float] = []

    def step(self, fraction: float, value: float | None) -> None:
        self.fraction = fraction
        if value is not None:
            self.values.append(float(value))

    def finalize(self) -> float | None:
        return percentile_of(self.values, self.fraction)


def percentile_of(values: list[float], fraction: float) -> float | None:
    """The continuous percentile of a list (PostgreSQL's `percentile_cont`), None for an empty list."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@receiver(connection_created)
def _sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("percentile_cont", 2, _SQLitePercentile)
