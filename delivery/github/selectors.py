"""Reads for the pages: each is a fixed number of queries, whatever the amount of data."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Case, Count, F, IntegerField, Manager, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from delivery.github.models import Commit, Deployment, PullRequest, Repository, SyncRun, Tag, WebhookDelivery
from delivery.github.sync_lease import sync_run_alive


def _count(queryset: QuerySet | Manager, **filters: object) -> Coalesce:
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
    """Every repository with its counts and its latest sync run's status, in one query. A run left running by a
    worker that died reads as interrupted, whether or not it was closed as such yet."""
    latest_run = (
        SyncRun.objects.filter(repository=OuterRef("pk"))
        .annotate(
            shown_status=Case(
                When(Q(status=SyncRun.Status.RUNNING) & ~sync_run_alive(), then=Value(SyncRun.Status.INTERRUPTED)),
                default=F("status"),
            )
        )
        .order_by("-started_at")
    )
    return Repository.objects.annotate(
        open_pull_requests=_count(PullRequest.objects, state=PullRequest.State.OPEN),
        merged_pull_requests=_count(PullRequest.objects, merged_at__isnull=False),
        pull_requests_total=_count(PullRequest.objects),
        main_commits=_count(Commit.objects, main_position__isnull=False),
        tag_count=_count(Tag.objects),
        # Production by the repository's settings, not GitHub's flag (GraphQL's deployments have none).
        production_deploys=_count(Deployment.objects, state="success", environment=OuterRef("production_environment")),
        deployment_count=_count(Deployment.objects),
        last_run_status=Subquery(latest_run.values("shown_status")[:1]),
        last_run_error=Subquery(latest_run.values("error")[:1]),
        last_run_started=Subquery(latest_run.values("started_at")[:1]),
        last_run_malformed=Subquery(latest_run.values("malformed")[:1]),
    ).order_by("archived", "full_name")


def organization_sync_totals() -> dict[str, int]:
    return {
        "pull_requests": PullRequest.objects.count(),
        "deployments": Deployment.objects.count(),
    }


# -- webhook deliveries (the operator page) ------------------------------------------------------------------------
DELIVERY_FILTERS = ("event", "outcome", "repository")


def webhook_delivery_list(*, filters: dict[str, str]) -> QuerySet[WebhookDelivery]:
    """Newest first, without the bodies (they can be megabytes), filtered on the given fields."""
    deliveries = WebhookDelivery.objects.defer("body").order_by("-received_at", "-pk")
    if filters.get("event"):
        deliveries = deliveries.filter(event=filters["event"])
    if filters.get("outcome"):
        deliveries = deliveries.filter(outcome=filters["outcome"])
    if filters.get("repository"):
        deliveries = deliveries.filter(repository_full_name=filters["repository"])
    if filters.get("q"):
        deliveries = deliveries.filter(guid__startswith=filters["q"].strip())
    return deliveries


def webhook_delivery_totals(*, since: datetime) -> dict[str, int]:
    """Deliveries received since `since`, by outcome, plus those waiting to be queued (the broker was down)."""
    rows = WebhookDelivery.objects.filter(received_at__gte=since).values("outcome").annotate(n=Count("pk"))
    totals = {outcome: 0 for outcome in WebhookDelivery.Outcome.values}
    totals.update({row["outcome"]: row["n"] for row in rows})
    totals["unqueued"] = WebhookDelivery.objects.filter(
        outcome=WebhookDelivery.Outcome.PENDING, queued_at__isnull=True
    ).count()
    return totals


def webhook_delivery_filter_choices() -> dict[str, list[str]]:
    return {
        "event": sorted(WebhookDelivery.objects.order_by().values_list("event", flat=True).distinct()),
        "repository": list(Repository.objects.order_by("full_name").values_list("full_name", flat=True)),
        "outcome": list(WebhookDelivery.Outcome.values),
    }
