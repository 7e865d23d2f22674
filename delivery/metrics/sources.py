"""The rows each figure counts, as querysets annotated in SQL: one definition, read by the figures (aggregates) and
by the evidence lists (the same rows, listed). docs/design.md ("Metrics") says the rules in words."""

from __future__ import annotations

from django.db.models import (
    Case,
    CharField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from delivery.core.sql import SecondsBetween
from delivery.github.models import Deployment, Review
from delivery.metrics.scope import Scope, bot_q
from delivery.monitoring.models import MonitoringSession
from delivery.pipeline.models import Change, Release, ReleaseChange

FAILED_STATES = ("failure", "error")

STAGES: dict[str, tuple[str, str]] = {
    "coding": ("first_commit_at", "ready_at"),
    "pickup": ("ready_at", "first_review_at"),
    "review": ("first_review_at", "merged_at"),
    "merge_to_staging": ("merged_at", "staging_at"),
    "staging_to_tag": ("staging_at", "tagged_at"),
    "tag_to_production": ("tagged_at", "production_at"),
    "production_to_signed_off": ("production_at", "signed_off_at"),
}
"""The stages of a change's lead time, each from one moment to the next (the last, "verified", shown apart)."""

UNPLANNED_BRANCHES = ("revert-", "hotfix/")
FAILED = ~Q(failure_why="")
"""On `release_attempts`: the release failed."""
SIGNED_OFF_IN_TIME = Q(signed_off_at__isnull=False, owner_alerted_at__isnull=True)
"""On `watches_due`: its owner decided before the overdue reminder went out."""


def _changes(scope: Scope) -> QuerySet[Change]:
    changes = Change.objects.filter(repository_id__in=scope.repository_ids)
    if not scope.include_bots:
        changes = changes.exclude(bot_q("author"))
    if scope.developer is not None:
        changes = changes.filter(author=scope.developer)
    if scope.team is not None:
        changes = changes.filter(author__teams=scope.team)
    return changes


def changes_delivered(scope: Scope) -> QuerySet[Change]:
    """Changes whose first successful production deployment fell in the period, with their lead time and stages."""
    annotations = {
        "lead_seconds": SecondsBetween("production_at", "first_commit_at"),
        **{f"{name}_seconds": SecondsBetween(end, start) for name, (start, end) in STAGES.items()},
    }
    return (
        _changes(scope)
        .filter(production_at__gte=scope.start, production_at__lt=scope.end, first_commit_at__isnull=False)
        .annotate(**annotations)
    )


def changes_merged(scope: Scope) -> QuerySet[Change]:
    """Pull requests merged in the period, with what their process checks said (the names stored by the derivation)."""
    return (
        _changes(scope)
        .filter(pull_request__isnull=False, merged_at__gte=scope.start, merged_at__lt=scope.end)
        .annotate(
            checks_text=Cast("failed_checks", TextField()),
            size=F("pull_request__additions") + F("pull_request__deletions"),
        )
    )


def check_passed(name: str) -> Q:
    """On a queryset of `changes_merged`: the change does not fail the named check."""
    return ~Q(checks_text__contains=f'"{name}"')


def _human_owned(releases: QuerySet[Release], scope: Scope) -> QuerySet[Release]:
    """Leave out releases that only bots brought (a release nobody is known to own stays)."""
    owners = Release.owners.through.objects.filter(release_id=OuterRef("pk"))
    if not scope.include_bots:
        releases = releases.exclude(Exists(owners) & ~Exists(owners.exclude(bot_q("developer"))))
    if scope.developer is not None:
        releases = releases.filter(Exists(owners.filter(developer=scope.developer)))
    if scope.team is not None:
        releases = releases.filter(Exists(owners.filter(developer__teams=scope.team)))
    return releases


def releases_live(scope: Scope) -> QuerySet[Release]:
    """Successful production deployments in the period (releases and rollbacks), with whether each was unplanned."""
    # Releases that bring a revert or a hotfix: one set, read once (not a subquery per release).
    unplanned_change = ReleaseChange.objects.filter(
        Q(change__pull_request__head_ref__startswith=UNPLANNED_BRANCHES[0])
        | Q(change__pull_request__head_ref__startswith=UNPLANNED_BRANCHES[1])
        | Q(change__pull_request__title__startswith="Revert")
    ).values("release_id")
    releases = Release.objects.filter(
        repository_id__in=scope.repository_ids, deployed_at__gte=scope.start, deployed_at__lt=scope.end
    )
    return _human_owned(releases, scope).annotate(
        unplanned_why=Case(
            When(is_rollback=True, then=Value("a rollback")),
            When(fix_for__isnull=False, then=Value("fixes an earlier release")),
            When(pk__in=unplanned_change, then=Value("a revert or hotfix")),
            default=Value(""),
            output_field=CharField(),
        )
    )


def release_attempts(scope: Scope) -> QuerySet[Deployment]:
    """Production releases for the change failure rate, each counted once, as their deployments: every successful
    release that is not a rollback (at the time it went live), and every production deployment that failed (at the
    time it failed), each with whether and when it failed."""
    fixed = Release.objects.filter(fix_for__isnull=False).values("fix_for_id")  # one set, read once
    succeeded = Q(release__isnull=False, release__is_rollback=False) & Q(
        release__deployed_at__gte=scope.start, release__deployed_at__lt=scope.end
    )
    failed_deploy = Q(release__isnull=True, is_rollback=False, state__in=FAILED_STATES) & Q(
        state_at__gte=scope.start, state_at__lt=scope.end
    )
    attempts = Deployment.objects.filter(repository_id__in=scope.repository_ids).filter(succeeded | failed_deploy)
    attempts = attempts.filter(environment=F("repository__production_environment"))
    owners = Release.owners.through.objects.filter(release_id=OuterRef("release"))
    if not scope.include_bots:
        attempts = attempts.exclude(Exists(owners) & ~Exists(owners.exclude(bot_q("developer"))))
    if scope.developer is not None:
        attempts = attempts.filter(Exists(owners.filter(developer=scope.developer)) | Q(creator=scope.developer))
    if scope.team is not None:
        attempts = attempts.filter(Exists(owners.filter(developer__teams=scope.team)) | Q(creator__teams=scope.team))
    return attempts.annotate(
        went_live_at=Coalesce("release__deployed_at", "state_at"),
        failure_why=Case(
            When(release__failure_dismissed_at__isnull=False, then=Value("")),  # an admin said: not a failure
            When(release__isnull=True, then=Value("the deployment failed")),
            When(release__failed=True, then=F("release__failure_reason")),
            When(release__in=fixed, then=Value("a later release fixes it")),
            default=Value(""),
            output_field=CharField(),
        ),
        failure_at=Case(
            When(release__isnull=True, then=F("state_at")),
            default=Coalesce("release__failed_at", "release__deployed_at"),  # fixed later: broken since it went live
        ),
    )


def failures_recovered(scope: Scope) -> QuerySet[Deployment]:
    """Failed releases whose failure fell in the period, each with its recovery: the first later successful production
    deployment that did not fail (a rollback's, or the next release whose watch did not fail). While that release's
    watch is open, the recovery is provisional."""
    failed = release_attempts(scope).filter(FAILED)
    recovery = Release.objects.filter(
        repository_id=OuterRef("repository_id"), deployed_at__gt=OuterRef("failure_at"), failed=False
    ).order_by("deployed_at")
    return failed.annotate(
        recovered_at=Subquery(recovery.values("deployed_at")[:1]),
        recovery_release_id=Subquery(recovery.values("pk")[:1]),
        recovery_watch=Subquery(recovery.values("watch_state")[:1]),
        recovery_seconds=SecondsBetween("recovered_at", "failure_at"),
    )


def watches_due(scope: Scope) -> QuerySet[MonitoringSession]:
    """Watches whose window ended in the period (up to now), those a rollback ended aside; signed off in time when
    their owner decided before the overdue reminder went out."""
    watches = _watches_of(
        scope,
        MonitoringSession.objects.filter(
            window_ends_at__gte=scope.start, window_ends_at__lt=min(scope.end, timezone.now())
        ).exclude(decision=MonitoringSession.Decision.ROLLED_BACK),
    )
    return watches.annotate(in_time=Case(When(SIGNED_OFF_IN_TIME, then=Value(True)), default=Value(False)))


def watches_degraded(scope: Scope) -> QuerySet[MonitoringSession]:
    """Watches that began in the period whose production signals read degraded: the verdict kept with the sign-off,
    or the latest of one still open (those a rollback ended included)."""
    return _watches_of(
        scope,
        MonitoringSession.objects.filter(window_starts_at__gte=scope.start, window_starts_at__lt=scope.end).filter(
            Q(signed_off_verdict="degraded") | Q(signed_off_at__isnull=True, verdict__verdict="degraded")
        ),
    )


def _watches_of(scope: Scope, watches: QuerySet[MonitoringSession]) -> QuerySet[MonitoringSession]:
    """The scope's watches: of its repositories, by its person or team, bots' left out unless it includes them."""
    watches = watches.filter(release__repository_id__in=scope.repository_ids)
    if not scope.include_bots:
        watches = watches.exclude(bot_q("owner"))
    if scope.developer is not None:
        watches = watches.filter(owner=scope.developer)
    if scope.team is not None:
        watches = watches.filter(owner__teams=scope.team)
    return watches


def reviews_given(scope: Scope) -> QuerySet[Review]:
    """Reviews submitted in the period on the scope's pull requests by someone other than their author (the work of
    reviewing; comments on one's own pull request are not reviews)."""
    reviews = Review.objects.filter(
        pull_request__repository_id__in=scope.repository_ids,
        submitted_at__gte=scope.start,
        submitted_at__lt=scope.end,
        author__isnull=False,
    ).exclude(author=F("pull_request__author"))
    if not scope.include_bots:
        reviews = reviews.exclude(bot_q("author"))
    if scope.developer is not None:
        reviews = reviews.filter(author=scope.developer)
    if scope.team is not None:
        reviews = reviews.filter(author__teams=scope.team)
    return reviews.exclude(state=Review.State.PENDING)
