"""Reads for the pages: each is a fixed number of queries, whatever the amount of data."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from delivery.github.models import Commit, Deployment, PullRequest, Repository, SyncRun, Tag


def _count(queryset: QuerySet, **filters: object) -> Coalesce:
    """A correlated COUNT per repository, as one subquery of the outer query."""
    sub = (
        queryset.filter(repository=OuterRef("pk"), **filters)
        .order_by()
        .values("repository")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(sub, output_field=IntegerField()), Value(0))


def repository_list_with_sync_status() -> QuerySet[Repository]:
    """Every repository with its counts and its latest sync run's status, in one query."""
    latest_run = SyncRun.objects.filter(repository=OuterRef("pk")).order_by("-started_at")
    return Repository.objects.annotate(
        open_pull_requests=_count(PullRequest.objects, state=PullRequest.State.OPEN),
        merged_pull_requests=_count(PullRequest.objects, merged_at__isnull=False),
        pull_requests_total=_count(PullRequest.objects),
        main_commits=_count(Commit.objects, main_position__isnull=False),
        tag_count=_count(Tag.objects),
        production_deploys=_count(Deployment.objects.filter(Q(state="success")), production_environment=True),
        deployment_count=_count(Deployment.objects),
        last_run_status=Subquery(latest_run.values("status")[:1]),
        last_run_error=Subquery(latest_run.values("error")[:1]),
        last_run_started=Subquery(latest_run.values("started_at")[:1]),
    ).order_by("archived", "full_name")


def organization_sync_totals() -> dict[str, int]:
    return {
        "pull_requests": PullRequest.objects.count(),
        "deployments": Deployment.objects.count(),
    }
