"""Per-developer ownership queues: what each person owns right now, most urgent first, with the one thing to do
next on each item. Read from the derived pipeline (Changes), review requests and monitoring sessions: three
queries for one person or for the whole team."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from html import escape
from typing import Any, NamedTuple

from django.db.models import BooleanField, Case, Count, Exists, ExpressionWrapper, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from delivery.accounts.models import Developer
from delivery.core.calendar import working_calendar
from delivery.core.links import page_url
from delivery.monitoring.models import MonitoringSession, WatchVerdict
from delivery.monitoring.selectors import verdict_of
from delivery.pipeline.checks import CHECKS
from delivery.pipeline.models import Change, ReleaseChange, Stage
from delivery.reports.agreements import Nudge, agreements_in_force, nudges_of

# Urgency ranks, most urgent first: what blocks production or other people comes before one's own work.
OVERDUE_WATCH, WATCH, BLOCKED, REVIEW, STALE, FEEDBACK, ON_ITS_WAY, OWN_WORK = range(8)
KIND_LABELS = {
    OVERDUE_WATCH: "Monitoring overdue",
    WATCH: "Watch production",
    BLOCKED: "Blocked on its way",
    REVIEW: "Review requested",
    STALE: "Over the age limit",
    FEEDBACK: "Review feedback",
    ON_ITS_WAY: "On its way",
    OWN_WORK: "My pull request",
}
OPEN_STAGES = (Stage.IN_PROGRESS, Stage.IN_REVIEW)
TEAM_RECENT_AUTHORS = timedelta(days=90)  # on the team page with nothing to do: wrote a change this recently
ON_ITS_WAY_STAGES = (Stage.MERGED, Stage.ON_STAGING, Stage.TAGGED, Stage.IN_PRODUCTION)
BLOCKING_CHECKS = {"stuck_staging", "stuck_tag", "stuck_production", "production_failed"}
STAGE_SINCE: dict[str, str] = {
    Stage.IN_PROGRESS: "first_commit_at",
    Stage.IN_REVIEW: "ready_at",
    Stage.MERGED: "merged_at",
    Stage.ON_STAGING: "staging_at",
    Stage.TAGGED: "tagged_at",
    Stage.IN_PRODUCTION: "production_at",
}


@dataclass(slots=True)  # no dictionary per item: a team page holds hundreds
class QueueItem:
    rank: int
    title: str
    url: str
    repository: str
    since: datetime | None
    next_step: str
    change: ChangeRow | None = None
    session: MonitoringSession | None = None
    detail: str = ""
    checks: Sequence[tuple[str, str]] = ()
    age_limit_hours: int | None = None  # for my open PRs: the repository's branch age limit
    overdue: bool = False
    window_ends: datetime | None = None  # for a production watch: when its window ends (a live countdown)
    verdict: WatchVerdict | None = None  # for a production watch: what its signals read
    nudges: list[Nudge] = field(default_factory=list)  # working agreements it is close to breaking (or broke)

    @property
    def kind(self) -> str:
        return KIND_LABELS[self.rank]

    @property
    def badge(self) -> str:
        """The badge's class: the overdue and the blocking bad, reviews and stale work a warning, the rest news."""
        if self.overdue or self.rank in (OVERDUE_WATCH, BLOCKED):
            return "badge-bad"
        return "badge-warn" if self.rank <= STALE else "badge-info"

    @property
    def sort_key(self) -> tuple[int, float]:
        return (self.rank, self.since.timestamp() if self.since else float("inf"))


class Person(NamedTuple):
    """A developer as the team page shows them: a model instance each (and its state) is three objects more a
    person for the garbage collector."""

    pk: int
    login: str
    name: str
    avatar_url: str


@dataclass
class Queue:
    developer: Developer | Person
    items: list[QueueItem] = field(default_factory=list)

    def count(self, *ranks: int) -> int:
        return sum(1 for item in self.items if item.rank in ranks)

    @property
    def open_prs(self) -> int:
        return self.count(STALE, FEEDBACK, OWN_WORK)

    @property
    def reviews(self) -> int:
        return self.count(REVIEW)

    @property
    def on_its_way(self) -> int:
        return self.count(BLOCKED, ON_ITS_WAY)

    @property
    def watching(self) -> int:
        return self.count(WATCH, OVERDUE_WATCH)

    @property
    def urgent(self) -> list[QueueItem]:
        return self.items[:3]

    @property
    def card_html(self) -> SafeString:
        """The person's card on the team page, written here in one piece with the standard library's escape (the
        page shows everyone's card: the template engine's cost per value and tag, some thirty a card, and Django's
        escaping through its lazy-string wrappers were most of the page's time and objects). What people wrote
        (titles, logins, the next step, which names people) is escaped; the rest is ours: labels, classes, numbers
        and page addresses (page_url quotes its argument)."""
        developer = self.developer
        url = self.url
        blocked = self.blocked
        parts = [
            f'<section class="card team-card{" is-blocked" if blocked else ""}" aria-labelledby="team-{developer.pk}">'
            '<header class="team-card-head">'
        ]
        if developer.avatar_url:
            parts.append(f'<img class="avatar" src="{escape(developer.avatar_url)}" alt="" width="28" height="28">')
        parts.append(f'<h2 id="team-{developer.pk}"><a href="{url}">{escape(developer.login)}</a></h2>')
        if blocked:
            parts.append('<span class="badge badge-bad">Blocked</span>')
        parts.append(
            f'<span class="count" title="Items in the queue">{len(self.items)}</span></header>'
            f'<dl class="team-counts"><div><dt>Watch</dt><dd>{self.watching}</dd></div>'
            f"<div><dt>Reviews</dt><dd>{self.reviews}</dd></div><div><dt>Open PRs</dt><dd>{self.open_prs}</dd></div>"
            f"<div><dt>On the way</dt><dd>{self.on_its_way}</dd></div></dl>"
        )
        if self.items:
            parts.append('<ol class="team-urgent">')
            parts += [
                f'<li><span class="badge {item.badge}">{item.kind}</span> <a href="{item.url}">{escape(item.title)}</a>'
                f'<span class="sub">{escape(item.next_step)}</span></li>'
                for item in self.urgent
            ]
            parts.append("</ol>")
            if self.more:
                parts.append(f'<p class="sub"><a href="{url}">and {self.more} more</a></p>')
        else:
            parts.append('<p class="sub">Nothing waiting.</p>')
        parts.append("</section>")
        return mark_safe("".join(parts))  # noqa: S308 - every value people wrote is escaped above

    @property
    def more(self) -> int:
        """How many items the team page leaves out (it shows the three most urgent)."""
        return max(0, len(self.items) - 3)

    @cached_property
    def blocked(self) -> bool:
        return any(item.rank in (OVERDUE_WATCH, BLOCKED) for item in self.items)

    @property
    def url(self) -> str:
        return page_url("person", self.developer.login)


_CHANGE_FIELDS = (
    "pk",
    "repository_id",
    "pull_request_id",
    "title",
    "stage",
    "failed_checks",
    "preview_url",
    "next_action",
    "author_id",
    "repository__name",
    "repository__full_name",
    "repository__branch_age_limit_hours",
    "repository__monitoring_window_minutes",
    "author__login",
    "author__avatar_url",
    "pull_request__number",
    "pull_request__html_url",
    "pull_request__draft",
    "first_commit_at",  # the working agreements' nudges: branch age
    "ready_at",  # and time waiting for a first review
    "first_review_at",
)


class ChangeRow:
    """A change as the queues read it: one row of values with the attribute names of the model (`repository.name`,
    `pull_request.number`, …) that the items and templates read. A model instance per change, with its repository,
    author and pull request, costs four objects a row: most of the team page's time, and its garbage collections.
    Of its times only the one the queue shows is read (`shown_since`, worked out by the database: reading every stage's
    time, ten a row, was most of the rows' cost), and whether it was reviewed and approved."""

    pk: int
    title: str
    stage: str
    failed_checks: Sequence[str]
    preview_url: str
    next_action: str
    author_id: int | None
    shown_since: datetime | None
    first_commit_at: datetime | None
    ready_at: datetime | None
    first_review_at: datetime | None
    reviewed: bool
    approved: bool
    repository: Any
    author: Any
    pull_request: Any
    release_id: int | None
    watched: bool
    reviewer_id: int | None

    def __init__(self, row: dict[str, Any], related: _Related) -> None:
        self.repository = related.repository(row)
        self.author = related.author(row)
        self.pull_request = related.pull_request(row)
        if not row["failed_checks"]:
            row["failed_checks"] = ()  # most have none: no list kept per row
        for name, value in row.items():  # attributes, not a dictionary per row (Python keeps them inline)
            setattr(self, name, value)

    def get_stage_display(self) -> str:
        return str(Stage(self.stage).label)


class _Repository(NamedTuple):
    pk: int
    name: str
    full_name: str
    branch_age_limit_hours: int
    monitoring_window_minutes: int


class _Author(NamedTuple):
    pk: int
    login: str
    avatar_url: str


class _PullRequest(NamedTuple):
    number: int
    html_url: str
    draft: bool


class _Related:
    """The repositories, authors and pull requests of change rows, one object each however many rows share it. Named
    tuples of plain values: the garbage collector stops tracking them once it has seen them (fewer objects for its
    full collections, which a page's hundreds of rows set off)."""

    def __init__(self) -> None:
        self.repositories: dict[int, _Repository] = {}
        self.authors: dict[int, _Author] = {}

    def repository(self, row: dict[str, Any]) -> _Repository:
        pk = row.pop("repository_id")
        fields = [row.pop(f"repository__{name}") for name in _Repository._fields[1:]]
        if pk not in self.repositories:
            self.repositories[pk] = _Repository(pk, *fields)
        return self.repositories[pk]

    def author(self, row: dict[str, Any]) -> _Author | None:
        login = row.pop("author__login")
        avatar_url = row.pop("author__avatar_url")
        if row["author_id"] is None:
            return None
        if row["author_id"] not in self.authors:
            self.authors[row["author_id"]] = _Author(row["author_id"], login, avatar_url)
        return self.authors[row["author_id"]]

    def pull_request(self, row: dict[str, Any]) -> _PullRequest | None:
        fields = [row.pop(f"pull_request__{name}") for name in _PullRequest._fields]
        return None if row.pop("pull_request_id") is None else _PullRequest(*fields)


def _rows(changes: Any, related: _Related) -> list[ChangeRow]:
    return [ChangeRow(row, related) for row in changes]


def _labels(change: ChangeRow) -> Sequence[tuple[str, str]]:
    if not change.failed_checks:
        return ()
    return [(name, CHECKS[name]) for name in change.failed_checks if name in CHECKS]


def review_state(change: ChangeRow) -> str:
    if change.pull_request is not None and change.pull_request.draft:
        return "Draft"
    if change.approved:
        return "Approved"
    if change.reviewed:
        return "Reviewed, not approved yet"
    return "Waiting for a first review"


def _own_change_item(change: ChangeRow, now: datetime) -> QueueItem:
    checks = _labels(change)
    names = {name for name, _ in checks}
    url = page_url("change", change.pk)
    base: dict[str, Any] = {
        "title": change.title,
        "url": url,
        "repository": change.repository.name,
        "change": change,
        "checks": checks,
    }
    if change.stage in OPEN_STAGES:
        limit = change.repository.branch_age_limit_hours
        stale = "stale" in names
        reviewed = change.reviewed
        if stale:
            rank, step = STALE, "Merge it or split it: it is older than the branch age limit"
        elif change.stage == Stage.IN_REVIEW and reviewed and not change.approved:
            rank, step = FEEDBACK, "Address the review"
        elif change.stage == Stage.IN_REVIEW:
            rank, step = OWN_WORK, "Get a review: ask a teammate" if not reviewed else "Squash merge it"
        else:
            rank, step = OWN_WORK, change.next_action or "Finish it"
        if change.stage == Stage.IN_REVIEW and change.approved:
            step = "Approved: squash merge it"
        return QueueItem(
            rank=rank,
            since=change.shown_since,
            next_step=step,
            detail=review_state(change),
            age_limit_hours=limit,
            overdue=stale,
            **base,
        )
    rank = BLOCKED if names & BLOCKING_CHECKS else ON_ITS_WAY
    return QueueItem(
        rank=rank, since=change.shown_since, next_step=change.next_action, detail=change.get_stage_display(), **base
    )


def _watch_item(changes: list[ChangeRow], release_id: int | None) -> QueueItem:
    """Changes of mine in production with the watch window open, one item per release (no session yet)."""
    first = changes[0]
    titles = f"{first.title}" + (f" and {len(changes) - 1} more" if len(changes) > 1 else "")
    return QueueItem(
        rank=WATCH,
        title=titles,
        url=reverse("release", args=[release_id]) if release_id else page_url("change", first.pk),
        repository=first.repository.name,
        since=first.shown_since,  # in production: since it went there
        next_step=first.next_action or "Watch production: errors, logs, metrics",
        change=first if len(changes) == 1 else None,
        detail="In production",
        window_ends=first.shown_since + timedelta(minutes=first.repository.monitoring_window_minutes)
        if first.shown_since
        else None,
    )


def _review_item(change: ChangeRow) -> QueueItem:
    return QueueItem(
        rank=REVIEW,
        title=change.title,
        url=page_url("change", change.pk),
        repository=change.repository.name,
        since=change.shown_since,
        next_step=f"Review {change.author.login if change.author else 'it'}'s pull request",
        change=change,
        detail=review_state(change),
        checks=_labels(change),
    )


def _session_item(session: MonitoringSession, now: datetime) -> QueueItem:
    release = session.release
    url = reverse("watch", args=[session.pk])
    grace = timedelta(minutes=release.repository.monitoring_grace_minutes)
    overdue = now > session.window_ends_at + grace
    if overdue:
        step = "Sign off now: the watch window ended"
    elif now >= session.window_ends_at:
        step = "Sign off: keep, fix forward or roll back"
    else:
        step = "Watch production: errors, logs, metrics"
    return QueueItem(
        rank=OVERDUE_WATCH if overdue else WATCH,
        title=f"{release.repository.name} {release.tag_name or release.sha[:7]}"
        + (f" and {covered - 1} earlier" if (covered := getattr(session, "covered_count", 1)) > 1 else ""),
        url=url,
        repository=release.repository.name,
        since=session.window_starts_at,
        next_step=step,
        session=session,
        detail="Signed off" if session.signed_off_at else "Watch",
        overdue=overdue,
        window_ends=session.window_ends_at,
        verdict=verdict_of(session),
    )


# The time each item shows, by the change's stage: an open change since its first commit (or its opening), a change on
# its way since it reached its stage, a review request since the change was ready.
_OWN_SINCE = Case(
    When(stage__in=OPEN_STAGES, then=Coalesce("first_commit_at", "pr_opened_at")),
    *(When(stage=stage, then=F(STAGE_SINCE[stage])) for stage in ON_ITS_WAY_STAGES),
    default=F("merged_at"),
)
_REVIEWED = {
    "reviewed": ExpressionWrapper(Q(first_review_at__isnull=False), output_field=BooleanField()),
    "approved": ExpressionWrapper(Q(approved_at__isnull=False), output_field=BooleanField()),
}


def queues_for(developer_ids: list[int] | None, *, now: datetime) -> dict[int, Queue]:
    """The queues of these developers (None: the team, see _team, and anyone else who owns something). Three
    queries plus one for the developers, whatever the amount of data."""
    changes = Change.objects.order_by()  # no sort: each queue is sorted by urgency
    first_release = Subquery(
        ReleaseChange.objects.filter(change=OuterRef("pk")).order_by("release__deployed_at").values("release_id")[:1]
    )
    in_production = Q(stage=Stage.IN_PRODUCTION)  # the release and the watch are read for these only
    own = changes.filter(stage__in=[*OPEN_STAGES, *ON_ITS_WAY_STAGES]).annotate(
        shown_since=_OWN_SINCE,
        release_id=Case(When(in_production, then=first_release)),
        # A session (open or signed off) says it better than the change's stage: the watch is that session.
        watched=Case(
            When(
                in_production,
                then=Exists(
                    MonitoringSession.objects.filter(owner_id=OuterRef("author_id"), releases__changes=OuterRef("pk"))
                ),
            ),
            default=Value(False),
            output_field=BooleanField(),
        ),
    )
    reviews = changes.filter(
        stage=Stage.IN_REVIEW,
        pull_request__state="open",
        pull_request__draft=False,
        pull_request__review_request_rows__isnull=False,
    ).annotate(
        shown_since=Coalesce("ready_at", "pr_opened_at"),
        reviewer_id=F("pull_request__review_request_rows__reviewer_id"),
    )
    sessions = (
        MonitoringSession.objects.filter(signed_off_at__isnull=True)
        .select_related("release", "release__repository", "verdict")
        .annotate(covered_count=Count("releases"))
    )
    if developer_ids is not None:
        own = own.filter(author_id__in=developer_ids)
        reviews = reviews.filter(pull_request__review_request_rows__reviewer_id__in=developer_ids)
        sessions = sessions.filter(owner_id__in=developer_ids)

    items: dict[int, list[QueueItem]] = defaultdict(list)
    watching: dict[tuple[int, int | None], list[ChangeRow]] = defaultdict(list)
    related = _Related()
    own_rows = _rows(
        own.annotate(**_REVIEWED).values(*_CHANGE_FIELDS, *_REVIEWED, "shown_since", "release_id", "watched"), related
    )
    review_rows = _rows(
        reviews.annotate(**_REVIEWED).values(*_CHANGE_FIELDS, *_REVIEWED, "shown_since", "reviewer_id"), related
    )
    agreements, calendar = agreements_in_force(), working_calendar()
    for change in own_rows:  # in trunk-based delivery the author owns the change until it is watched
        if change.author_id is None:
            continue
        if change.stage == Stage.IN_PRODUCTION:
            if not change.watched:
                watching[(change.author_id, change.release_id)].append(change)
        else:
            item = _own_change_item(change, now)
            item.nudges = nudges_of(change, agreements, now=now, calendar=calendar)
            items[change.author_id].append(item)
    for session in sessions:
        items[session.owner_id].append(_session_item(session, now))
    for (author_id, release_id), released in watching.items():
        items[author_id].append(_watch_item(released, release_id))
    for change in review_rows:
        if change.reviewer_id is not None and change.reviewer_id != change.author_id:
            item = _review_item(change)
            item.nudges = [n for n in nudges_of(change, agreements, now=now, calendar=calendar) if n.level < 100]
            items[change.reviewer_id].append(item)

    who = Q(pk__in=developer_ids) if developer_ids is not None else Q(pk__in=list(items)) | _team(now)
    people = Developer.objects.filter(who, is_bot=False)
    developers: Iterable[Developer | Person] = (
        people.only("login", "name", "avatar_url", "user_id")
        if developer_ids is not None
        else (Person(*values) for values in people.values_list(*Person._fields))  # the team: plain values
    )
    return {d.pk: Queue(d, sorted(items.get(d.pk, []), key=lambda i: i.sort_key)) for d in developers}


def _team(now: datetime) -> Q:
    """The team, nothing to do now included: everyone who signs in (not switched off), and who wrote a change lately
    without signing in yet."""
    wrote_lately = Exists(Change.objects.filter(author_id=OuterRef("pk"), pr_opened_at__gte=now - TEAM_RECENT_AUTHORS))
    return Q(user__is_active=True) | Q(wrote_lately, user__isnull=True)


def team_queues(*, now: datetime) -> list[Queue]:
    """Everyone's queue side by side: the blocked first, then the most loaded."""
    queues = queues_for(None, now=now).values()
    return sorted(queues, key=lambda q: (not q.blocked, -len(q.items), q.developer.login))


def queue_of(developer: Developer, *, now: datetime) -> Queue:
    return queues_for([developer.pk], now=now).get(developer.pk) or Queue(developer)


def has_work(developer_id: int) -> bool:
    """Whether the person owns anything right now (the home page sends them to their queue if so)."""
    return (
        Change.objects.filter(author_id=developer_id, stage__in=[*OPEN_STAGES, *ON_ITS_WAY_STAGES]).exists()
        or Change.objects.filter(
            stage=Stage.IN_REVIEW,
            pull_request__state="open",
            pull_request__review_request_rows__reviewer_id=developer_id,
        ).exists()
        or MonitoringSession.objects.filter(owner_id=developer_id, signed_off_at__isnull=True).exists()
    )
