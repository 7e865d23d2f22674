"""The rows each figure counts, as querysets annotated in SQL: one definition, read by the figures (aggregates) and
by the evidence lists (the same rows, listed). docs/design.md ("Metrics") says the rules in words."""

from __future__ import annotations

from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone

from delivery.core.sql import SecondsBetween
from delivery.github.models import Commit, Deployment, Review
from delivery.metrics.scope import Scope, bot_q
from delivery.monitoring.models import Incident, MonitoringSession
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


def unplanned_change(path: str = "") -> Q:
    """A change from a `revert-…` or `hotfix/…` branch, or whose pull request is titled "Revert…" (`path`: the way
    from the queried model to the change, e.g. "change__")."""
    pr = f"{path}pull_request__"
    return (
        Q(**{f"{pr}head_ref__startswith": UNPLANNED_BRANCHES[0]})
        | Q(**{f"{pr}head_ref__startswith": UNPLANNED_BRANCHES[1]})
        | Q(**{f"{pr}title__startswith": "Revert"})
    )


def releases_live(scope: Scope) -> QuerySet[Release]:
    """Successful production deployments in the period (releases and rollbacks), with whether each was unplanned."""
    # Releases that bring a revert or a hotfix: one set, read once (not a subquery per release).
    unplanned_change_release = ReleaseChange.objects.filter(unplanned_change("change__")).values("release_id")
    releases = Release.objects.filter(
        repository_id__in=scope.repository_ids, deployed_at__gte=scope.start, deployed_at__lt=scope.end
    )
    return _human_owned(releases, scope).annotate(
        unplanned_why=Case(
            When(is_rollback=True, then=Value("a rollback")),
            When(fix_for__isnull=False, then=Value("fixes an earlier release")),
            When(pk__in=unplanned_change_release, then=Value("a revert or hotfix")),
            default=Value(""),
            output_field=CharField(),
        )
    )


def _incidents(release: str) -> QuerySet[Incident]:
    """The incidents of the release `release` names (an outer reference) that no admin dismissed, the first first."""
    return Incident.objects.filter(release_id=OuterRef(release), dismissed_at__isnull=True).order_by("started_at", "pk")


def carried_changes() -> QuerySet[Change]:
    """On deployments, as a subquery: the changes a deployment would have brought to production, those merged at or
    before its commit on main and not yet in production when its status was last set. A failed deployment has no
    release and so no owners: it is the work of these changes' authors (not of the CI bot that created it)."""
    position = Commit.objects.filter(repository_id=OuterRef(OuterRef("repository_id")), sha=OuterRef(OuterRef("sha")))
    return Change.objects.filter(
        repository_id=OuterRef("repository_id"),
        commit__main_position__lte=Subquery(position.values("main_position")[:1]),
    ).filter(Q(production_at__isnull=True) | Q(production_at__gt=OuterRef("state_at")))


def release_attempts(scope: Scope) -> QuerySet[Deployment]:
    """Production releases for the change failure rate, each counted once, as their deployments: every successful
    release that is not a rollback (at the time it went live), and every production deployment that failed (at the
    time it failed), each with whether and when it failed. A person's or a team's: the releases they own, and the
    failed deployments that carried their changes. An incident (a production alert that fired while the release was
    live, not dismissed) fails its release from its first alert's start, unless a failure recorded otherwise came
    first; `incident_at` and `incident_resolved_at` are the release's first incident's."""
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
    carried = Q(release__isnull=True)  # a failed deployment: the authors of what it carried (carried_changes)
    if scope.developer is not None:
        mine = carried_changes().filter(author=scope.developer)
        attempts = attempts.filter(Exists(owners.filter(developer=scope.developer)) | (carried & Exists(mine)))
    if scope.team is not None:
        ours = carried_changes().filter(author__teams=scope.team)
        attempts = attempts.filter(Exists(owners.filter(developer__teams=scope.team)) | (carried & Exists(ours)))
    incident = _incidents("release")
    recorded_at = Coalesce("release__failed_at", "release__deployed_at")  # fixed later: broken since it went live
    return attempts.annotate(
        went_live_at=Coalesce("release__deployed_at", "state_at"),
        incident_at=Subquery(incident.values("started_at")[:1]),
        incident_resolved_at=Subquery(incident.values("resolved_at")[:1]),
        failure_why=Case(
            When(release__failure_dismissed_at__isnull=False, then=Value("")),  # an admin said: not a failure
            When(release__isnull=True, then=Value("the deployment failed")),
            When(release__failed=True, then=F("release__failure_reason")),
            When(
                incident_at__isnull=False,
                then=Concat(
                    Value("an alert fired: "), Subquery(incident.values("title")[:1]), output_field=CharField()
                ),
            ),
            When(release__in=fixed, then=Value("a later release fixes it")),
            default=Value(""),
            output_field=CharField(),
        ),
        failure_at=Case(
            When(release__isnull=True, then=F("state_at")),
            When(
                Q(incident_at__isnull=False, release__failed=False) | Q(incident_at__lt=recorded_at), then="incident_at"
            ),
            default=recorded_at,
            output_field=DateTimeField(),
        ),
    )


def failures_recovered(scope: Scope) -> QuerySet[Deployment]:
    """Failed releases whose failure fell in the period, each with its recovery: for a release with an incident, the
    moment its first incident resolved (its last alert's end; none while one fires); else the first later successful
    production deployment that did not fail (a rollback's, or the next release whose watch did not fail and that has
    no incident). While that release's watch is open, the recovery is provisional."""
    failed = release_attempts(scope).filter(FAILED)
    recovery = (
        Release.objects.filter(
            repository_id=OuterRef("repository_id"), deployed_at__gt=OuterRef("failure_at"), failed=False
        )
        .exclude(Exists(_incidents("pk")))
        .order_by("deployed_at")
    )
    by_incident = Q(incident_at__isnull=False)
    return failed.annotate(
        recovered_at=Case(
            When(by_incident, then="incident_resolved_at"),
            default=Subquery(recovery.values("deployed_at")[:1]),
            output_field=DateTimeField(),
        ),
        recovery_release_id=Case(
            When(by_incident, then=None), default=Subquery(recovery.values("pk")[:1]), output_field=IntegerField()
        ),
        recovery_watch=Case(
            When(by_incident, then=Value("")),
            default=Subquery(recovery.values("watch_state")[:1]),
            output_field=CharField(),
        ),
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
    """Watches that began in the period whose production signals ever read degraded: the verdict kept with the
    sign-off, the latest of one still open (those a rollback ended included), or any read before that recovered."""
    return _watches_of(
        scope,
        MonitoringSession.objects.filter(window_starts_at__gte=scope.start, window_starts_at__lt=scope.end).filter(
            Q(signed_off_verdict="degraded")
            | Q(signed_off_at__isnull=True, verdict__verdict="degraded")
            | Q(verdict__first_degraded_at__isnull=False)
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
