"""Working-time arithmetic: the team works weekdays 08:00-18:00 UTC."""

from __future__ import annotations

import bisect
import random
from datetime import datetime, timedelta

WORK_START_HOUR = 8
WORK_END_HOUR = 18


def _day_start(t: datetime) -> datetime:
    return t.replace(hour=WORK_START_HOUR, minute=0, second=0, microsecond=0)


def _day_end(t: datetime) -> datetime:
    return t.replace(hour=WORK_END_HOUR, minute=0, second=0, microsecond=0)


def is_workday(t: datetime) -> bool:
    return t.weekday() < 5


def _next_work_start(t: datetime) -> datetime:
    """``t`` itself when inside working time, else the next working day's start."""
    if is_workday(t) and _day_start(t) <= t < _day_end(t):
        return t
    if is_workday(t) and t < _day_start(t):
        return _day_start(t)
    day = _day_start(t) + timedelta(days=1)
    while not is_workday(day):
        day += timedelta(days=1)
    return day


def _previous_work_end(t: datetime) -> datetime:
    """``t`` itself when inside working time (or at a day's end), else the previous working day's end."""
    if is_workday(t) and _day_start(t) < t <= _day_end(t):
        return t
    if is_workday(t) and t > _day_end(t):
        return _day_end(t)
    day = _day_end(t) - timedelta(days=1)
    while not is_workday(day):
        day -= timedelta(days=1)
    return day


def add_work_minutes(t: datetime, minutes: float) -> datetime:
    t = _next_work_start(t)
    while True:
        left = (_day_end(t) - t).total_seconds() / 60
        if minutes <= left:
            return t + timedelta(minutes=minutes)
        minutes -= left
        t = _next_work_start(_day_end(t))


def sub_work_minutes(t: datetime, minutes: float) -> datetime:
    t = _previous_work_end(t)
    while True:
        left = (t - _day_start(t)).total_seconds() / 60
        if minutes <= left:
            return t - timedelta(minutes=minutes)
        minutes -= left
        t = _previous_work_end(_day_start(t))


class WorkCalendar:
    """Working-time intervals between two instants, for sampling uniformly over working time."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.intervals: list[tuple[datetime, datetime]] = []
        self.cumulative: list[float] = []
        total = 0.0
        t = _next_work_start(start)
        while t < end:
            stop = min(_day_end(t), end)
            if stop > t:
                self.intervals.append((t, stop))
                total += (stop - t).total_seconds()
                self.cumulative.append(total)
            t = _next_work_start(_day_end(t))
        self.total_seconds = total

    @property
    def working_days(self) -> int:
        return len({a.date() for a, _ in self.intervals})

    def sample(self, rng: random.Random) -> datetime:
        if not self.intervals:
            raise ValueError("no working time in range")
        x = rng.random() * self.total_seconds
        i = min(bisect.bisect_right(self.cumulative, x), len(self.intervals) - 1)
        before = self.cumulative[i - 1] if i else 0.0
        start, _ = self.intervals[i]
        return (start + timedelta(seconds=x - before)).replace(microsecond=0)


def lognormal_minutes(rng: random.Random, median: float, sigma: float, low: float, high: float) -> float:
    return max(low, min(high, rng.lognormvariate(0, sigma) * median))
