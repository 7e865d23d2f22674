"""The working calendar: the working days and hours (WORK_DAYS, WORK_HOURS) in the organization's time zone
(TIME_ZONE), and the working seconds between two moments, which the working agreements' "working hours" count. A
working day's hours are wall-clock hours in TIME_ZONE, so a day on which the clocks change still has its 8 hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings


class CalendarError(ValueError):
    """A working calendar setting that cannot be read, in words."""


@dataclass(frozen=True)
class WorkingCalendar:
    days: frozenset[int]  # ISO weekdays, 1 Monday … 7 Sunday
    start: time
    end: time
    zone: ZoneInfo

    @property
    def hours_a_day(self) -> float:
        return (datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)).total_seconds() / 3600

    def describe(self) -> str:
        names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        days = sorted(self.days)
        if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
            listed = f"{names[days[0] - 1]} to {names[days[-1] - 1]}"
        else:
            listed = ", ".join(names[d - 1] for d in days)
        return f"{listed} {self.start:%H:%M} to {self.end:%H:%M} ({self.zone.key})"


def _hour(text: str) -> time:
    value = int(text)
    if value == 24:
        return time.max
    return time(value)


def parse_calendar(work_days: str, work_hours: str, zone: str) -> WorkingCalendar:
    """`1-5` or `1,2,3,4,5` (ISO weekdays) and `9-17` (whole hours, 0 to 24, the end after the start)."""
    days: set[int] = set()
    try:
        for part in work_days.replace(" ", "").split(","):
            first, _, last = part.partition("-")
            days.update(range(int(first), int(last or first) + 1))
    except ValueError:
        days = set()
    if not days or not days <= set(range(1, 8)):
        raise CalendarError(f"WORK_DAYS lists ISO weekdays (1 Monday … 7 Sunday) like 1-5, not {work_days!r}.")
    first, _, last = work_hours.replace(" ", "").partition("-")
    try:
        start, end = int(first), int(last)
    except ValueError:
        raise CalendarError(f"WORK_HOURS is a range of whole hours like 9-17, not {work_hours!r}.") from None
    if not 0 <= start < end <= 24:
        raise CalendarError(f"WORK_HOURS is a range of whole hours (0 to 24) like 9-17, not {work_hours!r}.")
    return WorkingCalendar(frozenset(days), _hour(str(start)), _hour(str(end)), ZoneInfo(zone))


def working_calendar() -> WorkingCalendar:
    return parse_calendar(settings.WORK_DAYS, settings.WORK_HOURS, settings.TIME_ZONE)


def working_seconds(start: datetime, end: datetime, calendar: WorkingCalendar | None = None) -> float:
    """The working seconds from `start` to `end` (0 when `end` is not after `start`): the parts of each working day's
    hours in between, each day's hours taken in TIME_ZONE (real elapsed seconds, so an hour the clocks skip is not
    counted)."""
    calendar = calendar or working_calendar()
    if end <= start:
        return 0.0
    zone = calendar.zone
    start, end = start.astimezone(UTC), end.astimezone(UTC)  # elapsed time, not wall-clock arithmetic
    total = 0.0
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    while day <= last:
        if day.isoweekday() in calendar.days:
            opens = datetime.combine(day, calendar.start, tzinfo=zone)
            closes = (
                datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
                if calendar.end == time.max
                else datetime.combine(day, calendar.end, tzinfo=zone)
            )
            low, high = max(opens.astimezone(UTC), start), min(closes.astimezone(UTC), end)
            if high > low:
                total += (high - low).total_seconds()
        day += timedelta(days=1)
    return total
