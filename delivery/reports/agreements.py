"""Working agreements judged: each kind's rows (the metrics' sources, the same rows the figures count), the week's
verdict (kept, broken with the rows that broke it, or nothing to judge), the value suggested from the last four
weeks and the preview of how often a threshold would have been broken over them.

A per-row agreement (a first review within N working hours, no branch older than N days) is broken by every row
past N. An agreement on a figure (a share, a rate, a median) is broken when the week's figure is past N; the rows
listed are then those on the wrong side (the overdue watches, the failed releases, the changes above N)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Min, Prefetch, QuerySet

from delivery.accounts.models import Team
from delivery.core.calendar import WorkingCalendar, working_calendar, working_seconds
from delivery.core.links import page_url
from delivery.github.models import Repository
from delivery.metrics import sources
from delivery.metrics.scope import Scope, today
from delivery.pipeline.models import Stage
from delivery.reports.models import Agreement
from delivery.reports.weeks import IsoWeek

Kind = Agreement.Kind
LIMIT = 200
"""Rows listed at most per verdict (the count says how many there were)."""
SUGGESTION_WEEKS = 4


@dataclass(frozen=True)
class KindRule:
    words: str  # "{n}" is the threshold as written
    unit: str
    higher_is_better: bool = False
    per_row: bool = False
    default: float = 1.0
    rows: str = ""  # a per-row rule's rows, counted: "3 of 41 branches over"


RULES: dict[str, KindRule] = {
    Kind.PICKUP: KindRule(
        "Pull requests get a first review within {n} working hours",
        "working hours",
        per_row=True,
        default=4,
        rows="pull requests",
    ),
    Kind.BRANCH_AGE: KindRule(
        "No branch lives longer than {n} days (first commit to merge)", "days", per_row=True, default=2, rows="branches"
    ),
    Kind.WATCHED: KindRule(
        "At least {n} % of production releases are watched and signed off in time",
        "%",
        higher_is_better=True,
        default=100,
    ),
    Kind.FAILURE_RATE: KindRule("Change failure rate at most {n} %", "%", default=10),
    Kind.PR_SIZE: KindRule("Median pull request size at most {n} lines", "lines", default=300),
    Kind.LEAD_TIME: KindRule("Median lead time at most {n} hours", "hours", default=24),
}


def number(value: float) -> str:
    return f"{value:g}"


def amount(value: float, unit: str) -> str:
    """N as it was typed, in its unit ("0.15 days", never rounded to "0.2"); a part of a day also in hours."""
    text = f"{number(value)} {unit}"
    return f"{text} ({number(round(value * 24, 1))} hours)" if unit == "days" and value < 1 else text


def rows_over(kind: str, over: int, counted: int) -> str:
    """What a per-row rule counted in a period: "3 of 41 branches over" (its figure is no median)."""
    return f"{over} of {counted} {RULES[kind].rows or 'rows'} over"


def words(kind: str, threshold: float) -> str:
    return RULES[kind].words.format(n=number(threshold))


def scope_words(team: Team | None, repositories: Iterable[Repository]) -> str:
    names = [r.full_name for r in repositories]
    who = f"team {team.name}" if team is not None else "the organization"
    return f"{who}, {', '.join(names)}" if names else f"{who}, every followed repository"


def agreement_scope(
    date_from: date, date_to: date, *, team: Team | None, repositories: Iterable[Repository] = ()
) -> Scope:
    chosen = tuple(r for r in repositories if r.is_active)
    if not chosen:
        chosen = tuple(Repository.objects.filter(is_active=True).order_by("full_name"))
    return Scope(date_from, date_to, chosen, team=team)


# -- the rows of each kind: (row, its value in the agreement's unit) ------------------------------------------------
def change_row(change: Any) -> dict[str, Any]:
    """A change as the report lists it (its title, number, repository, author and page)."""
    pr = change.pull_request
    return {
        "title": change.title,
        "number": pr.number if pr else None,
        "repository": change.repository.full_name,
        "author": change.author.login if change.author else None,
        "url": page_url("change", change.pk),
    }


def _change_row(change: Any, value: float, text: str) -> dict[str, Any]:
    return {**change_row(change), "value": round(value, 2), "value_text": text}


def _changes(queryset: QuerySet[Any]) -> QuerySet[Any]:
    return queryset.select_related("repository", "pull_request", "author").order_by("merged_at", "pk")


def _pickups(scope: Scope) -> list[tuple[dict[str, Any], float]]:
    calendar = working_calendar()
    rows = _changes(sources.changes_merged(scope).filter(ready_at__isnull=False, first_review_at__isnull=False))
    found = []
    for c in rows:
        hours = working_seconds(c.ready_at, c.first_review_at, calendar) / 3600
        found.append((_change_row(c, hours, f"first review after {hours:.1f} working hours"), hours))
    return found


def _branch_ages(scope: Scope) -> list[tuple[dict[str, Any], float]]:
    rows = _changes(sources.changes_merged(scope).filter(first_commit_at__isnull=False))
    found = []
    for c in rows:
        days = (c.merged_at - c.first_commit_at).total_seconds() / 86_400
        found.append((_change_row(c, days, f"lived {days:.1f} days"), days))
    return found


def _sizes(scope: Scope) -> list[tuple[dict[str, Any], float]]:
    merged: QuerySet[Any] = sources.changes_merged(scope)
    rows = _changes(merged.filter(size__isnull=False))
    return [(_change_row(c, c.size, f"{c.size} lines"), float(c.size)) for c in rows]


def _lead_times(scope: Scope) -> list[tuple[dict[str, Any], float]]:
    rows: QuerySet[Any] = (
        sources.changes_delivered(scope)
        .select_related("repository", "pull_request", "author")
        .order_by("production_at", "pk")
    )
    found = []
    for c in rows:
        hours = c.lead_seconds / 3600
        found.append((_change_row(c, hours, f"lead time {hours:.1f} hours"), hours))
    return found


def _watches(scope: Scope) -> list[tuple[dict[str, Any], float]]:
    rows: QuerySet[Any] = (
        sources.watches_due(scope)
        .select_related("owner", "release", "release__repository")
        .order_by("window_ends_at", "pk")
    )
    return [
        (
            {
                "title": w.release.tag_name or w.release.sha[:7],
                "number": None,
                "repository": w.release.repository.full_name,
                "author": w.owner.login,
                "url": page_url("watch", w.pk),
                "value": 100.0 if w.in_time else 0.0,
                "value_text": "signed off in time" if w.in_time else "not signed off in time",
            },
            100.0 if w.in_time else 0.0,
        )
        for w in rows
    ]


def _attempts(scope: Scope) -> list[tuple[dict[str, Any], float]]:
    rows: QuerySet[Any] = (
        sources.release_attempts(scope).select_related("repository", "release").order_by("went_live_at", "pk")
    )
    found = []
    for d in rows:
        release = getattr(d, "release", None)
        failed = 100.0 if d.failure_why else 0.0
        row = {
            "title": (release.tag_name or release.sha[:7]) if release else d.sha[:7],
            "number": None,
            "repository": d.repository.full_name,
            "author": None,
            "url": page_url("release", release.pk) if release else page_url("repository", d.repository_id),
            "value": failed,
            "value_text": f"failed: {d.failure_why}" if d.failure_why else "did not fail",
        }
        found.append((row, failed))
    return found


ROWS: dict[str, Callable[[Scope], list[tuple[dict[str, Any], float]]]] = {
    Kind.PICKUP: _pickups,
    Kind.BRANCH_AGE: _branch_ages,
    Kind.WATCHED: _watches,
    Kind.FAILURE_RATE: _attempts,
    Kind.PR_SIZE: _sizes,
    Kind.LEAD_TIME: _lead_times,
}


def figure(kind: str, values: list[float]) -> float | None:
    """The week's figure in the agreement's unit: a median, or the share (%) of rows counted 100."""
    if not values:
        return None
    if kind in (Kind.WATCHED, Kind.FAILURE_RATE):
        return sum(values) / len(values)
    return float(statistics.median(values))


def _past(kind: str, value: float, threshold: float) -> bool:
    return value < threshold if RULES[kind].higher_is_better else value > threshold


@dataclass
class Verdict:
    week: str
    status: str  # "kept", "broken" or "nothing to judge"
    value: float | None
    counted: int
    breaks: list[dict[str, Any]] = field(default_factory=list)
    breaks_count: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "week": self.week,
            "status": self.status,
            "value": None if self.value is None else round(self.value, 2),
            "counted": self.counted,
            "breaks": self.breaks,
            "breaks_count": self.breaks_count,
        }


def judge(kind: str, threshold: float, scope: Scope, *, week: str = "") -> Verdict:
    """One period's verdict on an agreement (one query for the rows, whatever their number)."""
    found = ROWS[kind](scope)
    values = [value for _, value in found]
    value = figure(kind, values)
    if RULES[kind].per_row:
        breaks = [row for row, v in found if v > threshold]
        status = "broken" if breaks else ("kept" if found else "nothing to judge")
    elif value is None:
        breaks, status = [], "nothing to judge"
    elif _past(kind, value, threshold):
        status = "broken"
        if kind in (Kind.WATCHED, Kind.FAILURE_RATE):
            bad = 0.0 if kind == Kind.WATCHED else 100.0
            breaks = [row for row, v in found if v == bad]
        else:
            breaks = [row for row, v in found if v > threshold]
    else:
        breaks, status = [], "kept"
    return Verdict(week, status, value, len(found), breaks[:LIMIT], len(breaks))


def weeks_before(on: date | None = None, count: int = SUGGESTION_WEEKS) -> list[IsoWeek]:
    """The last `count` whole weeks before the one `on` falls in, oldest first."""
    this = IsoWeek.of(on or today())
    return [this.before(n) for n in range(count, 0, -1)]


def preview(
    kind: str, threshold: float, *, team: Team | None, repositories: Iterable[Repository] = (), on: date | None = None
) -> list[Verdict]:
    """How the agreement would have been judged in each of the last four weeks."""
    chosen = list(repositories)
    return [
        judge(kind, threshold, agreement_scope(w.monday, w.sunday, team=team, repositories=chosen), week=w.label)
        for w in weeks_before(on)
    ]


def sensibly(kind: str, value: float) -> float:
    """A suggested threshold rounded as a person would write it (never 0)."""
    unit = RULES[kind].unit
    if unit == "%":
        return float(min(100, max(1, round(value))))
    if unit == "lines":
        step = 10 if value < 200 else 50
        return float(max(step, round(value / step) * step))
    if unit == "days" or value < 4:
        return max(0.5, round(value * 2) / 2)
    return float(max(1, round(value)))


@dataclass(frozen=True)
class Suggestion:
    value: float
    why: str


def suggestion(
    kind: str, *, team: Team | None, repositories: Iterable[Repository] = (), on: date | None = None
) -> Suggestion:
    """The threshold to start from: the last four weeks' figure 10 % better (a limit times 0.9, a share times 1.1 up to
    100 %), rounded; for the branch age, the repositories' own limit (the setting the board's checks use)."""
    chosen = list(repositories)
    weeks = weeks_before(on)
    scope = agreement_scope(weeks[0].monday, weeks[-1].sunday, team=team, repositories=chosen)
    if kind == Kind.BRANCH_AGE:
        hours = Repository.objects.filter(pk__in=scope.repository_ids).aggregate(h=Min("branch_age_limit_hours"))["h"]
        if hours:
            days = sensibly(kind, hours / 24)
            return Suggestion(days, f"the repositories' branch age limit ({hours} h), which the board's checks use")
    value = figure(kind, [v for _, v in ROWS[kind](scope)])
    if value is None:
        default = RULES[kind].default
        return Suggestion(default, "nothing to start from in the last four weeks: a common starting point")
    better = min(100.0, value * 1.1) if RULES[kind].higher_is_better else value * 0.9
    return Suggestion(
        sensibly(kind, better),
        f"the last four weeks' {'share' if RULES[kind].higher_is_better else 'figure'} "
        f"({number(round(value, 1))} {RULES[kind].unit}), 10 % better, rounded",
    )


# -- nudges: a change about to break an agreement -------------------------------------------------------------------
NUDGE_LEVELS = (75, 90)
"""A change is nudged (on its owner's queue, and once on Slack at each level) at 75 % and 90 % of the way to an
agreement's limit; past 100 % the queue says it broke it."""
OPEN_STAGES = (Stage.IN_PROGRESS, Stage.IN_REVIEW)


@dataclass(frozen=True)
class InForce:
    """An agreement a change in flight can be nudged about (a first review within N working hours, a branch age)."""

    pk: int
    kind: str
    threshold: float
    words: str
    repository_ids: frozenset[int]  # empty: every repository
    member_ids: frozenset[int] | None  # None: the organization's


@dataclass(frozen=True)
class Nudge:
    agreement_id: int
    words: str
    level: int  # 75, 90, or 100 once past the limit
    text: str


def agreements_in_force() -> list[InForce]:
    """The agreements changes in flight are nudged about (two queries whatever their number)."""
    agreements = Agreement.objects.filter(kind__in=[Kind.PICKUP, Kind.BRANCH_AGE]).prefetch_related(
        Prefetch("repositories", queryset=Repository.objects.only("pk"))
    )
    teams = {a.team_id for a in agreements if a.team_id is not None}
    members: dict[int, set[int]] = {}
    for team_id, developer_id in Team.members.through.objects.filter(team_id__in=teams).values_list(
        "team_id", "developer_id"
    ):
        members.setdefault(team_id, set()).add(developer_id)
    return [
        InForce(
            a.pk,
            a.kind,
            a.threshold,
            words(a.kind, a.threshold),
            frozenset(r.pk for r in a.repositories.all()),
            None if a.team_id is None else frozenset(members.get(a.team_id, ())),
        )
        for a in agreements
    ]


def _level(share: float) -> int | None:
    if share >= 1:
        return 100
    reached = [level for level in NUDGE_LEVELS if share * 100 >= level]
    return max(reached) if reached else None


def nudges_of(change: Any, agreements: list[InForce], *, now: datetime, calendar: WorkingCalendar) -> list[Nudge]:
    """What a change in flight is close to breaking: a pull request waiting for its first review (in working hours),
    a branch getting old (from its first commit). `change` has the fields of a Change (a row of values will do)."""
    if change.stage not in OPEN_STAGES or change.author_id is None:
        return []
    found = []
    for agreement in agreements:
        if agreement.repository_ids and change.repository_id not in agreement.repository_ids:
            continue
        if agreement.member_ids is not None and change.author_id not in agreement.member_ids:
            continue
        if agreement.kind == Kind.PICKUP:
            if change.stage != Stage.IN_REVIEW or change.ready_at is None or change.first_review_at is not None:
                continue
            hours = working_seconds(change.ready_at, now, calendar) / 3600
            share = hours / agreement.threshold
            text = f"{hours:.1f} of {number(agreement.threshold)} working hours waiting for a first review"
        else:
            if change.first_commit_at is None:
                continue
            days = (now - change.first_commit_at).total_seconds() / 86_400
            share = days / agreement.threshold
            if agreement.threshold < 1:  # a part of a day is told in hours ("3.0 of 3.6 hours", not "0.1 of 0.15")
                limit = number(round(agreement.threshold * 24, 1))
                text = f"{days * 24:.1f} of {limit} hours since the first commit"
            else:
                text = f"{days:.1f} of {number(agreement.threshold)} days since the first commit"
        level = _level(share)
        if level is not None:
            found.append(Nudge(agreement.pk, agreement.words, level, text))
    return found
