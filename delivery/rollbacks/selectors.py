"""The on-call page's reads: per repository, what is live, what is being watched, what went wrong. A fixed
number of queries whatever the number of repositories and releases."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import F, OuterRef, Q, Subquery, Window
from django.db.models.functions import RowNumber

from delivery.github.models import Deployment, Repository
from delivery.monitoring.models import MonitoringSession
from delivery.monitoring.services import session_state
from delivery.pipeline.models import Release
from delivery.rollbacks.models import Rollback

RECENT = timedelta(days=7)
FAILED_WINDOW = timedelta(hours=24)


@dataclass
class OnCallRow:
    repository: Repository
    live: Release | None = None
    known_good: Release | None = None
    sessions: list[MonitoringSession] = field(default_factory=list)
    in_flight: list[Rollback] = field(default_factory=list)
    recent_rollbacks: list[Rollback] = field(default_factory=list)
    failed_deployments: list[Deployment] = field(default_factory=list)
    can_roll_back: bool = False

    @property
    def overdue(self) -> int:
        return sum(1 for s in self.sessions if s.state == "overdue")

    @property
    def failing_now(self) -> bool:
        """The latest production deployment failed (nothing succeeded after it): production may be hurt."""
        if not self.failed_deployments:
            return False
        latest_failure = self.failed_deployments[0].state_at
        return self.live is None or self.live.deployed_at is None or latest_failure > self.live.deployed_at

    @property
    def attention(self) -> int:
        """How much it needs on-call's eye: a rollback in flight, a failing deploy, overdue watches, then the rest."""
        return (
            1000 * len(self.in_flight)
            + 100 * self.failing_now
            + 10 * self.overdue
            + len(self.sessions)
            + min(len(self.failed_deployments), 9)
        )

    @property
    def calm(self) -> bool:
        return self.attention == 0 and self.repository.gone_since is None


def on_call_board(*, now: datetime) -> list[OnCallRow]:
    live_id = Subquery(
        Release.objects.filter(repository=OuterRef("pk"), environment=OuterRef("production_environment"))
        .order_by("-deployed_at", "-pk")
        .values("pk")[:1]
    )
    repositories = list(Repository.objects.filter(is_active=True).annotate(live_id=live_id).order_by("full_name"))
    rows = {r.pk: OnCallRow(r) for r in repositories}
    live_ids = [r.live_id for r in repositories if r.live_id]
    for release in (
        Release.objects.filter(pk__in=live_ids).select_related("deployment__creator").prefetch_related("owners")
    ):
        rows[release.repository_id].live = release

    # The last known-good of each: the newest successful, unfailed, tagged release before the live one.
    candidates = (
        Release.objects.filter(repository_id__in=rows, state=Release.State.SUCCEEDED, failed=False, is_rollback=False)
        .exclude(tag_name="")
        .annotate(rank=Window(RowNumber(), partition_by=F("repository_id"), order_by=F("deployed_at").desc()))
        .filter(rank__lte=5)
    )
    for release in candidates.order_by("repository_id", "-deployed_at"):
        row = rows[release.repository_id]
        live = row.live
        if (
            row.known_good is None
            and live is not None
            and release.pk != live.pk
            and release.deployed_at < live.deployed_at
        ):
            row.known_good = release

    for session in (
        MonitoringSession.objects.filter(signed_off_at__isnull=True, release__repository_id__in=rows)
        .select_related("release", "release__repository", "owner")
        .order_by("window_ends_at")
    ):
        session.state = session_state(session, now)
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

    return sorted(rows.values(), key=lambda r: (-r.attention, r.repository.full_name))
