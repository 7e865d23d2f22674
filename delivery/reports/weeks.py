"""ISO weeks (Monday to Sunday in the organization's time zone, TIME_ZONE) as the metrics' scopes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from delivery.accounts.models import Team
from delivery.github.models import Repository
from delivery.metrics.scope import Scope, org_zone

WEEK_RE = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


def when(moment: datetime | None) -> str | None:
    """A time as a report keeps it: ISO 8601 in the organization's time zone."""
    return None if moment is None else moment.astimezone(org_zone()).isoformat()


class WeekError(ValueError):
    """A week that does not exist, in words."""


@dataclass(frozen=True)
class IsoWeek:
    year: int
    week: int

    def __post_init__(self) -> None:
        try:
            date.fromisocalendar(self.year, self.week, 1)
        except ValueError:
            raise WeekError(f"{self.year} has no ISO week {self.week}.") from None

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    def before(self, weeks: int = 1) -> IsoWeek:
        return IsoWeek.of(self.monday - timedelta(days=7 * weeks))

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        found = WEEK_RE.match(text.strip())
        if not found:
            raise WeekError(f"A week is written YYYY-Www (2026-W47), not {text[:20]!r}.")
        return cls(int(found[1]), int(found[2]))

    def scope(self, *, team: Team | None = None) -> Scope:
        """The followed repositories over this week; one team's work when `team`."""
        repositories = tuple(Repository.objects.filter(is_active=True).order_by("full_name"))
        return Scope(self.monday, self.sunday, repositories, team=team)


def week_just_ended(now: datetime) -> IsoWeek:
    """The last whole week before `now`, in the organization's time zone (on Monday 07:00 in Berlin, while UTC still
    says Sunday, it is the week that ended at midnight in Berlin)."""
    today = now.astimezone(org_zone()).date()
    return IsoWeek.of(today - timedelta(days=today.weekday() + 1))
