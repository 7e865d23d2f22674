"""Rollback reads: what is live, what production can go back to, what a rollback would undo; and the on-call
page (per repository, what is live, what is being watched, what went wrong: a fixed number of queries whatever
the number of repositories and releases)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import BooleanField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber

from delivery.github.models import Deployment, Repository
from delivery.monitoring.alert_selectors import alerts_firing_by_repository
from delivery.monitoring.models import Alert, Incident, Judgement, MonitoringSession, WatchVerdict
from delivery.monitoring.selectors import verdict_of, watch_state
from delivery.pipeline.models import Change, Release
from delivery.rollbacks.models import Rollback

RECENT = timedelta(days=7)
FAILED_WINDOW = timedelta(hours=24)
MAX_TARGETS = 20
WENT_LIVE = [Release.State.SUCCEEDED, Release.State.ROLLED_BACK]
NEWEST_FIRST = ("-deployed_at", "-deployment_id")
"""The order releases went live in, with no ties: GitHub gives times to the second, and two deploys (a rollback's
and the team's) can succeed in the same one. The derivation orders them the same way (success time, then
deployment), so the release it says came later is the one live here too."""


def _went_live_before(release: Release) -> Q:
    """Releases that went live before `release` (by NEWEST_FIRST's order)."""
    return Q(deployed_at__lt=release.deployed_at) | Q(
        deployed_at=release.deployed_at, deployment_id__lt=release.deployment_id
    )


def _went_live_after(release: Release) -> Q:
    """Releases that went live after `release` (by NEWEST_FIRST's order)."""
    return Q(deployed_at__gt=release.deployed_at) | Q(
        deployed_at=release.deployed_at, deployment_id__gt=release.deployment_id
    )


def _order_key(release: Release) -> tuple[datetime, int]:
    assert release.deployed_at is not None
    return (release.deployed_at, release.deployment_id)


# -- what can be rolled back, to what ---------------------------------------------------------------------------
def _went_live(release: Release) -> QuerySet[Release]:
    """The releases of `release`'s repository and environment that were live at some point."""
    return Release.objects.filter(
        repository_id=release.repository_id, environment=release.environment, state__in=WENT_LIVE
    ).exclude(deployed_at=None)


def live_release(repository: Repository) -> Release | None:
    """What production runs now: the latest successful production release."""
    return (
        Release.objects.filter(repository=repository, state__in=WENT_LIVE)
        .exclude(deployed_at=None)
        .order_by(*NEWEST_FIRST)
        .first()
    )


def _taken_out_before() -> Exists:
    """A release whose version a rollback took out of production (that rollback succeeded): never a target again."""
    return Exists(
        Release.objects.filter(
            repository_id=OuterRef("repository_id"), sha=OuterRef("sha"), undone_by__state=Rollback.State.SUCCEEDED
        )
    )


def _known_good() -> ExpressionWrapper:
    """A version to go back to without a second thought: not failed, not rolled back, with a tag to deploy, its
    watch done (or none was opened), no incident on it that an admin did not dismiss, and no watch of it that read
    production degraded."""
    incident = Incident.objects.filter(release_id=OuterRef("pk"), dismissed_at__isnull=True)
    read_degraded = WatchVerdict.objects.filter(session__releases=OuterRef("pk")).filter(
        Q(verdict=Judgement.DEGRADED) | Q(first_degraded_at__isnull=False)  # now, or at some moment of its window
    )
    return ExpressionWrapper(
        Q(failed=False, watch_state__in=[Release.Watch.DONE, Release.Watch.NONE])
        & ~Q(state=Release.State.ROLLED_BACK)
        & ~Q(tag_name="")
        & ~Exists(incident)
        & ~Exists(read_degraded),
        output_field=BooleanField(),
    )


def rollback_targets(live: Release) -> list[Release]:
    """The earlier versions production can go back to, newest first, each version once (the newest release of each
    sha: a rollback's own deployment of v1.0 and v1.0's first one are one target). Never the live version, and never
    a version a rollback took out of production."""
    candidates = (
        _went_live(live)
        .filter(_went_live_before(live))
        .exclude(sha=live.sha)
        .exclude(_taken_out_before())
        .annotate(known_good=_known_good())
        .order_by(*NEWEST_FIRST)[: MAX_TARGETS * 5]
    )
    targets: dict[str, Release] = {}
    for release in candidates:
        targets.setdefault(release.sha, release)
    return list(targets.values())[:MAX_TARGETS]


def is_known_good(release: Release) -> bool:
    """Whether `release` is known good (_known_good's rule): read with the release where the targets were read."""
    annotated = getattr(release, "known_good", None)
    if annotated is not None:
        return bool(annotated)
    return Release.objects.filter(pk=release.pk).filter(_known_good()).exists()


def last_known_good(release: Release, targets: list[Release] | None = None) -> Release | None:
    """The newest earlier version that is known good (the confirmation's default target)."""
    for target in rollback_targets(release) if targets is None else targets:
        if is_known_good(target):
            return target
    return None


def releases_undone(live: Release, target: Release) -> list[Release]:
    """What going back to `target` takes out of production, newest first: every release that went live after the
    target's version was last live, up to the live one (not those an earlier rollback already took out). "After" is
    NEWEST_FIRST's order: a release that succeeded in the same second as an earlier rollback's redeploy of the
    target, and came after it, is undone."""
    target_last_live = (
        _went_live(live).filter(sha=target.sha).filter(~_went_live_after(live)).order_by(*NEWEST_FIRST).first()
    ) or target
    return list(
        _went_live(live)
        .filter(_went_live_after(target_last_live))
        .filter(~_went_live_after(live))
        .exclude(sha=target.sha)
        .exclude(undone_by__state=Rollback.State.SUCCEEDED)
        .order_by(*NEWEST_FIRST)
    )


def changes_undone(live: Release, target: Release, undone: list[Release] | None = None) -> list[Change]:
    """The changes live has and the target has not: those the undone releases brought."""
    undone = releases_undone(live, target) if undone is None else undone
    return list(
        Change.objects.filter(releases__in=[r.pk for r in undone])
        .select_related("author", "pull_request")
        .distinct()
        .order_by("-merged_at")[:200]
    )


def in_flight_rollback(repository_id: int, environment: str) -> Rollback | None:
    return (
        Rollback.objects.filter(repository_id=repository_id, environment=environment, state__in=Rollback.IN_FLIGHT)
        .select_related("repository", "requested_by")
        .first()
    )


def rollback_of_deployment(deployment_id: int) -> Rollback | None:
    """The rollback whose deployment this is (a rollback release's page says who asked and why)."""
    return (
        Rollback.objects.filter(deployment_id=deployment_id)
        .select_related("requested_by")
        .prefetch_related("releases_undone")
        .first()
    )


# -- the rollbacks a page lists ---------------------------------------------------------------------------------
def rollbacks_undoing(*, release: Release) -> list[Rollback]:
    """The rollbacks that took (or are taking) `release` out of production, newest first."""
    return list(
        Rollback.objects.filter(releases_undone=release).select_related("requested_by").order_by("-requested_at")
    )


def rollbacks_of_repository(*, repository: Repository, limit: int = 10) -> list[Rollback]:
    """The repository's latest rollbacks, newest first."""
    return list(
        Rollback.objects.filter(repository=repository)
        .select_related("requested_by", "from_release")
        .order_by("-requested_at")[:limit]
    )


def rollbacks_recent(
    *, now: datetime, within: timedelta, repository_full_name: str = "", limit: int = 5
) -> list[Rollback]:
    """Rollbacks in flight and those asked for within `within` of `now`, newest first; of one repository when
    `repository_full_name` names it."""
    rollbacks = Rollback.objects.filter(Q(requested_at__gte=now - within) | Q(state__in=Rollback.IN_FLIGHT))
    if repository_full_name:
        rollbacks = rollbacks.filter(repository__full_name=repository_full_name)
    return list(rollbacks.select_related("repository", "requested_by").order_by("-requested_at")[:limit])


# -- the on-call page --------------------------------------------------------------------------------------------


@dataclass
class OnCallRow:
    repository: Repository
    live: Release | None = None
    known_good: Release | None = None
    sessions: list[MonitoringSession] = field(default_factory=list)
    in_flight: list[Rollback] = field(default_factory=list)
    recent_rollbacks: list[Rollback] = field(default_factory=list)
    failed_deployments: list[Deployment] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)  # production alerts firing now (Alertmanager)
    can_roll_back: bool = False

    @property
    def overdue(self) -> int:
        return sum(1 for s in self.sessions if s.state == "overdue")

    @property
    def degraded(self) -> bool:
        """A watch open here reads production degraded (its verdict was read with the watches)."""
        return any(getattr(verdict_of(s), "verdict", "") == Judgement.DEGRADED for s in self.sessions)

    @property
    def failing_now(self) -> bool:
        """The latest production deployment failed (nothing succeeded after it): production may be hurt."""
        if not self.failed_deployments:
            return False
        latest_failure = self.failed_deployments[0].state_at
        assert latest_failure is not None  # failed_deployments are read by state_at
        return self.live is None or self.live.deployed_at is None or latest_failure > self.live.deployed_at

    @property
    def attention(self) -> int:
        """How much it needs on-call's eye: a rollback in flight, a failing deploy or a firing alert, overdue watches,
        then the rest."""
        return (
            1000 * len(self.in_flight)
            + 100 * (self.failing_now or bool(self.alerts) or self.degraded)
            + 10 * self.overdue
            + len(self.sessions)
            + min(len(self.failed_deployments), 9)
        )

    @property
    def calm(self) -> bool:
        return self.attention == 0 and self.repository.gone_since is None


def on_call_board(*, now: datetime) -> list[OnCallRow]:
    live_id = Subquery(
        Release.objects.filter(
            repository=OuterRef("pk"), environment=OuterRef("production_environment"), state__in=WENT_LIVE
        )
        .exclude(deployed_at=None)
        .order_by(*NEWEST_FIRST)
        .values("pk")[:1]
    )
    repositories = list(Repository.objects.filter(is_active=True).annotate(live_id=live_id).order_by("full_name"))
    rows = {r.pk: OnCallRow(r) for r in repositories}
    live_ids = [r.live_id for r in repositories if r.live_id]
    for release in (
        Release.objects.filter(pk__in=live_ids).select_related("deployment__creator").prefetch_related("owners")
    ):
        rows[release.repository_id].live = release

    # The last known-good of each, by last_known_good's rule: of the versions before the live one (each version's
    # newest release, never one a rollback took out), the newest that is known good.
    candidates = (
        Release.objects.filter(repository_id__in=rows, state__in=WENT_LIVE)
        .exclude(deployed_at=None)
        .exclude(_taken_out_before())
        .annotate(
            known_good=_known_good(),
            rank=Window(
                RowNumber(),
                partition_by=F("repository_id"),
                order_by=[F("deployed_at").desc(), F("deployment_id").desc()],
            ),
        )
        .filter(rank__lte=MAX_TARGETS * 2)
    )
    seen: set[tuple[int, str]] = set()
    for release in candidates.order_by("repository_id", *NEWEST_FIRST):
        row = rows[release.repository_id]
        live = row.live
        if row.known_good is not None or live is None or live.deployed_at is None:
            continue
        if release.sha == live.sha or release.deployed_at is None or _order_key(release) >= _order_key(live):
            continue
        if (release.repository_id, release.sha) in seen:
            continue  # an older release of a version already judged
        seen.add((release.repository_id, release.sha))
        if is_known_good(release):
            row.known_good = release

    for session in (
        MonitoringSession.objects.filter(signed_off_at__isnull=True, release__repository_id__in=rows)
        .select_related("release", "release__repository", "owner", "verdict")
        .order_by("window_ends_at")
    ):
        session.state = watch_state(session, now)
        rows[session.release.repository_id].sessions.append(session)

    for rollback in (
        Rollback.objects.filter(Q(state__in=Rollback.IN_FLIGHT) | Q(requested_at__gte=now - RECENT))
        .filter(repository_id__in=rows)
        .select_related("requested_by")
        .order_by("-requested_at")
    ):
        row = rows[rollback.repository_id]
        (row.in_flight if rollback.state in Rollback.IN_FLIGHT else row.recent_rollbacks).append(rollback)

    failed = defaultdict(list)
    for deployment in (
        Deployment.objects.filter(
            repository_id__in=rows,
            environment=F("repository__production_environment"),
            state__in=["failure", "error"],
            state_at__gte=now - FAILED_WINDOW,
        )
        .select_related("creator")
        .order_by("-state_at")
    ):
        failed[deployment.repository_id].append(deployment)
    for repository_id, deployments in failed.items():
        rows[repository_id].failed_deployments = deployments
    for repository_id, alerts in alerts_firing_by_repository(rows).items():
        rows[repository_id].alerts = alerts

    # Trouble first, then by name: by kind of trouble, not by counts or countdowns, so cards keep their places
    # between refreshes (a watch turning overdue, one more failed deploy or watch moves nothing).
    return sorted(
        rows.values(),
        key=lambda r: (
            not r.in_flight,
            not (r.failing_now or r.alerts or r.degraded),
            not (r.sessions or r.failed_deployments),
            r.repository.full_name,
        ),
    )
