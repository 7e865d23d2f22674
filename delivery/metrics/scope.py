"""What a set of figures is about: a period of whole days in the organization's time zone (TIME_ZONE), the
followed repositories or one of them, optionally one person or one team (the work of its members), with or without
bots."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from delivery.accounts.models import Developer, Team
from delivery.github.models import Repository, SyncRun

MAX_DAYS = 366 * 2
PERIODS = {
    "week": "This week",
    "4w": "Last 4 weeks",
    "quarter": "Last quarter (13 weeks)",
}


class ScopeError(ValueError):
    """A request for figures that cannot be answered, in words for the person who asked."""


def org_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


@dataclass(frozen=True)
class Scope:
    date_from: date
    date_to: date  # inclusive
    repositories: tuple[Repository, ...]
    developer: Developer | None = None
    include_bots: bool = False
    team: Team | None = None

    @property
    def start(self) -> datetime:
        return datetime.combine(self.date_from, time.min, tzinfo=org_zone())

    @property
    def end(self) -> datetime:
        """The first moment after the period (the day after `date_to`, at midnight)."""
        return datetime.combine(self.date_to + timedelta(days=1), time.min, tzinfo=org_zone())

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    @property
    def weeks(self) -> float:
        return self.days / 7

    @property
    def repository_ids(self) -> list[int]:
        return [r.pk for r in self.repositories]

    def previous(self) -> Scope:
        """The period of the same length just before this one (what a trend compares with)."""
        return replace(
            self, date_from=self.date_from - timedelta(days=self.days), date_to=self.date_from - timedelta(days=1)
        )


def today() -> date:
    return timezone.now().astimezone(org_zone()).date()


def preset_dates(preset: str, on: date | None = None) -> tuple[date, date]:
    """A named period ending today: this week (from Monday), the last 4 weeks, the last 13 weeks."""
    on = on or today()
    if preset == "week":
        return on - timedelta(days=on.weekday()), on
    if preset == "4w":
        return on - timedelta(days=27), on
    if preset == "quarter":
        return on - timedelta(days=13 * 7 - 1), on
    raise ScopeError(f"There is no period named {preset!r}: use one of {', '.join(PERIODS)}.")


def _day(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ScopeError(f"{name} must be a date written YYYY-MM-DD, not {value[:40]!r}.") from None


def bot_logins() -> list[str]:
    """Logins counted as bots besides GitHub's Bot accounts, with and without GitHub's "[bot]" suffix."""
    names = [login.strip().lower() for login in settings.METRICS_BOT_LOGINS if login.strip()]
    return sorted({*names, *(f"{name}[bot]" for name in names)})


def bot_q(prefix: str) -> Q:
    """People who are bots: GitHub says so, or their login is in METRICS_BOT_LOGINS (`prefix`: the path to the
    person; "" on Developer itself)."""
    path = f"{prefix}__" if prefix else ""
    return Q(**{f"{path}is_bot": True}) | Q(**{f"{path}login__iregex": _logins_regex()})


def _logins_regex() -> str:
    logins = bot_logins()
    return "^(" + "|".join(re.escape(login) for login in logins) + ")$" if logins else "^$(?!x)"


def scope_from(params: Mapping[str, str], *, default_preset: str = "4w") -> Scope:
    """A scope from query parameters: a named `period`, or `from`/`to` dates (`period` empty or "custom"; a named
    period wins over dates left in the URL by an earlier custom choice), `repository` (owner/name), `team`, `login`,
    `bots`."""
    period = params.get("period") or ""
    if period in PERIODS:
        date_from, date_to = preset_dates(period)
    elif params.get("from") or params.get("to"):
        if not (params.get("from") and params.get("to")):
            raise ScopeError("Give both from and to (YYYY-MM-DD), or neither.")
        date_from, date_to = _day(params["from"], "from"), _day(params["to"], "to")
    else:
        date_from, date_to = preset_dates(default_preset if period in ("", "custom") else period)
    if date_to < date_from:
        raise ScopeError("The period ends before it starts: to must be on or after from.")
    if (date_to - date_from).days + 1 > MAX_DAYS:
        raise ScopeError(f"A period is at most {MAX_DAYS} days long.")
    followed = Repository.objects.filter(is_active=True).order_by("full_name")
    name = (params.get("repository") or "").strip()
    if name:
        repositories = tuple(followed.filter(full_name=name))
        if not repositories:
            raise ScopeError(f"No followed repository {name[:201]!r}.")
    else:
        repositories = tuple(followed)
    developer = None
    login = (params.get("login") or "").strip()
    if login:
        developer = Developer.objects.filter(login__iexact=login).first()
        if developer is None:
            raise ScopeError(f"Nobody with the login {login[:100]!r}.")
    team = None
    slug = (params.get("team") or "").strip()
    if slug:
        team = Team.objects.filter(slug__iexact=slug).first()
        if team is None:
            raise ScopeError(f"No team {slug[:100]!r}: teams are the organization's GitHub teams.")
    include_bots = (params.get("bots") or "").lower() in ("1", "true", "yes", "on")
    return Scope(date_from, date_to, repositories, developer, include_bots, team)


def history_starts_at(scope: Scope) -> datetime | None:
    """Where the synced history of the scope's repositories starts: their first sync went back SYNC_BACKFILL_DAYS.
    None before any sync (nothing is known to be missing)."""
    first = (
        SyncRun.objects.filter(repository_id__in=scope.repository_ids)
        .order_by("started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    return None if first is None else first - timedelta(days=settings.SYNC_BACKFILL_DAYS)


def is_partial(scope: Scope) -> bool:
    """The period starts before the synced history: its figures miss what came before and are not compared."""
    starts = history_starts_at(scope)
    return starts is not None and scope.start < starts
