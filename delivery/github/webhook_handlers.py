"""What each GitHub webhook event does to the mirror: one handler per event, through the same ingest layer as
the sync, so a change seen by webhook and by sync ends identical.

A handler may read GitHub when the payload is not enough (a pull request's reviews and commits, the parents
of the commits pushed to the default branch); GitHub's rate limits and outages propagate to the task, which
retries the delivery later. Arrival order does not matter: objects carry their own `updated_at` and older
copies are not applied (see ingest.upsert_rows), and the webhook-only times move one way only
(see ingest_refs)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from delivery.core.deliveries import DeliveryIgnored
from delivery.github.client import (
    GitHubClient,
    GitHubError,
    GitHubNotFound,
    client_from_settings,
    github_credentials_configured,
)
from delivery.github.ingest import (
    IngestResult,
    ingest_pull_requests,
    ingest_repositories,
    ingest_reviews,
    ingest_workflow_runs,
    parse_time,
)
from delivery.github.ingest_deployments import ingest_deployment_statuses, ingest_deployments
from delivery.github.ingest_refs import (
    ingest_branch_deleted,
    ingest_branch_seen,
    ingest_push_commits,
    ingest_tag_created,
    ingest_tag_deleted,
)
from delivery.github.models import Commit, Deployment, PullRequest, Repository
from delivery.github.sync import main_line_sync, pull_request_details_sync
from delivery.github.webhook_input import is_github_id
from delivery.github.webhook_names import GitHubEvent

logger = logging.getLogger(__name__)


Followup = Callable[[GitHubClient], str]
"""A read from GitHub that completes a delivery (returns what it did in words); run after the delivery's writes
committed, best effort."""


@dataclass
class WebhookContext:
    event: str
    action: str
    payload: dict[str, Any]
    received_at: datetime
    client_factory: Callable[[], GitHubClient | None] = field(default=lambda: None)
    notes: list[str] = field(default_factory=list)
    followups: list[Followup] = field(default_factory=list)
    _client: GitHubClient | None = None
    _client_made: bool = False
    repository_id: int | None = None  # the followed repository the delivery changed, once resolved
    result: str = ""  # what the handler did, in words

    def github(self) -> GitHubClient | None:
        """The API client, or None when no GitHub credentials are configured (webhooks alone then)."""
        if not self._client_made:
            self._client_made = True
            self._client = self.client_factory()
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def repository(self) -> Repository:
        """The followed repository the event is about; a repository of the organization seen for the first
        time is added (and synced in full, on commit)."""
        data = self.payload.get("repository")
        if not isinstance(data, dict) or not isinstance(data.get("id"), int):
            raise ValueError("malformed payload: no repository with an id")
        repository = Repository.objects.filter(github_id=data["id"]).first()
        if repository is None:
            owner = (data.get("owner") or {}).get("login") or str(data.get("full_name", "")).split("/")[0]
            org = settings.GITHUB_ORG
            if org and owner.lower() != org.lower():
                raise DeliveryIgnored(f"{data.get('full_name')} is not a repository of {org}")
            _applied(ingest_repositories([data]))
            repository = Repository.objects.get(github_id=data["id"])
            self.notes.append(f"new repository {repository.full_name}")
            _queue_repository_sync(repository.pk)
        if not repository.is_active:
            raise DeliveryIgnored(f"{repository.full_name} is not followed")
        self.repository_id = repository.pk
        return repository

    def event_time(self) -> datetime:
        """When a ref changed: the repository's `pushed_at` in the payload (it moves with every push), else
        when the delivery arrived."""
        pushed = (self.payload.get("repository") or {}).get("pushed_at")
        try:
            return parse_time(pushed) or self.received_at
        except (TypeError, ValueError, OverflowError):
            return self.received_at


def _applied(result: IngestResult) -> IngestResult:
    """A payload object the ingest layer had to skip is a malformed delivery: it fails, with the reasons."""
    if result.skipped:
        raise ValueError("; ".join(result.skipped))
    return result


def _queue_repository_sync(repository_id: int) -> None:
    if not github_credentials_configured():
        return
    from delivery.github.tasks import sync_repository_task

    transaction.on_commit(lambda: sync_repository_task.delay(repository_id, trigger="webhook"))


def _queue_organization_sync() -> None:
    if not (settings.GITHUB_ORG and github_credentials_configured()):
        return
    from delivery.github.tasks import sync_organization_task

    transaction.on_commit(lambda: sync_organization_task.delay(trigger="webhook"))


def configured_client() -> GitHubClient | None:
    if not github_credentials_configured():
        return None
    return client_from_settings()


# -- pull requests and reviews ------------------------------------------------------------------------------------
PULL_REQUEST_DETAIL_ACTIONS = {"opened", "reopened", "synchronize", "ready_for_review", "closed"}


def _pull_request(ctx: WebhookContext, repository: Repository, data: dict[str, Any]) -> tuple[PullRequest, bool]:
    """Upsert the pull request of the payload; returns it and whether this copy was current (not older)."""
    result = _applied(ingest_pull_requests(repository, [data]))
    pull_request = PullRequest.objects.get(pk=result.ids[data["id"]])
    return pull_request, not result.stale


def handle_pull_request(ctx: WebhookContext) -> str:
    repository = ctx.repository()
    data = ctx.payload["pull_request"]
    pull_request, current = _pull_request(ctx, repository, data)
    at = parse_time(data["updated_at"])
    if ctx.action == "ready_for_review":
        PullRequest.objects.filter(Q(ready_at__isnull=True) | Q(ready_at__gt=at), pk=pull_request.pk).update(
            ready_at=at
        )
    # Reviews and commits are read when this action may have changed them and they were not read since this
    # copy (whichever copy arrives last, the newest state is read once).
    synced = pull_request.details_synced_for
    if ctx.action in PULL_REQUEST_DETAIL_ACTIONS and (synced is None or (at is not None and synced < at)):
        url = f"/repos/{repository.full_name}/pulls/{pull_request.number}"

        def read_details(client: GitHubClient) -> str:
            current = PullRequest.objects.filter(pk=pull_request.pk).values_list("updated_at", flat=True).first()
            result = pull_request_details_sync(client, pull_request, url=url, updated_at=current)
            return f"reviews and commits read ({result.created} new)"

        ctx.followups.append(read_details)
    if not current:
        return f"{pull_request} {ctx.action}: an older copy than the one stored, not applied"
    return f"{pull_request} {ctx.action}"


def handle_pull_request_review(ctx: WebhookContext) -> str:
    repository = ctx.repository()
    pull_request, _ = _pull_request(ctx, repository, ctx.payload["pull_request"])
    _applied(ingest_reviews(pull_request, [ctx.payload["review"]]))
    return f"{pull_request} review {ctx.payload['review']['state'].lower()}"


# -- refs: pushes, branches, tags -----------------------------------------------------------------------------------
def handle_push(ctx: WebhookContext) -> str:
    repository = ctx.repository()
    ref, at = ctx.payload["ref"], ctx.event_time()
    deleted = bool(ctx.payload.get("deleted"))
    if ref.startswith("refs/tags/"):
        name = ref.removeprefix("refs/tags/")
        if deleted:
            ingest_tag_deleted(repository, name=name, at=at)
            return f"tag {name} deleted"
        sha = (ctx.payload.get("head_commit") or {}).get("id") or ctx.payload["after"]
        ingest_tag_created(repository, name=name, at=at, sha=sha)
        return f"tag {name} at {sha[:7]}"
    if not ref.startswith("refs/heads/"):
        raise DeliveryIgnored(f"push to {ref}: not a branch or a tag")
    branch = ref.removeprefix("refs/heads/")
    if deleted:
        ingest_branch_deleted(repository, name=branch, at=at)
        return f"branch {branch} deleted"
    ingest_branch_seen(
        repository, name=branch, at=at, head_sha=ctx.payload["after"], before=ctx.payload.get("before") or ""
    )
    if branch != repository.default_branch:
        return f"branch {branch} at {ctx.payload['after'][:7]}"
    pushed = ingest_push_commits(repository, ctx.payload.get("commits") or [])
    if Commit.objects.filter(repository=repository, main_position__isnull=False).exists():
        # The payload's commits carry no parents: the first-parent line comes from the API (usually one page,
        # down to the last placed commit). A repository never placed is left to its first sync.
        def place_commits(client: GitHubClient) -> str:
            floor = timezone.now() - timedelta(days=settings.SYNC_BACKFILL_DAYS)
            walk = main_line_sync(client, repository, since=floor)
            return f"{walk.result.created} commit(s) placed on {branch}"

        ctx.followups.append(place_commits)
    return f"{len(ctx.payload.get('commits') or [])} commit(s) pushed to {branch} ({pushed.created} new)"


def handle_create(ctx: WebhookContext) -> str:
    repository = ctx.repository()
    name, kind, at = ctx.payload["ref"], ctx.payload["ref_type"], ctx.event_time()
    if kind == "branch":
        ingest_branch_seen(repository, name=name, at=at)
    elif kind == "tag":
        ingest_tag_created(repository, name=name, at=at)
    else:
        raise DeliveryIgnored(f"created a {kind}")
    return f"{kind} {name} created"


def handle_delete(ctx: WebhookContext) -> str:
    repository = ctx.repository()
    name, kind = ctx.payload["ref"], ctx.payload["ref_type"]
    if kind == "branch":
        ingest_branch_deleted(repository, name=name, at=ctx.event_time())
    elif kind == "tag":
        ingest_tag_deleted(repository, name=name, at=ctx.event_time())
    else:
        raise DeliveryIgnored(f"deleted a {kind}")
    return f"{kind} {name} deleted"


def handle_release(ctx: WebhookContext) -> str:
    """A release names its tag; the tag row exists from then on (its sha comes with the tag's push or sync)."""
    release = ctx.payload["release"]
    if release.get("draft"):
        raise DeliveryIgnored(f"draft release {release.get('tag_name')}: its tag may not exist yet")
    repository = ctx.repository()
    tag = release["tag_name"]
    ingest_tag_created(repository, name=tag, at=None)
    return f"release {tag} {ctx.action}"


# -- deployments and workflow runs ----------------------------------------------------------------------------------
def _deployment(repository: Repository, data: dict[str, Any]) -> Deployment:
    result = _applied(ingest_deployments(repository, [data]))
    return Deployment.objects.get(pk=result.ids[data["id"]])


def handle_deployment(ctx: WebhookContext) -> str:
    deployment = _deployment(ctx.repository(), ctx.payload["deployment"])
    return f"deployment {deployment.github_id} to {deployment.environment}"


def handle_deployment_status(ctx: WebhookContext) -> str:
    """The payload carries the deployment too, so a status arriving before its deployment still lands."""
    deployment = _deployment(ctx.repository(), ctx.payload["deployment"])
    _applied(ingest_deployment_statuses(deployment, [ctx.payload["deployment_status"]]))
    return f"deployment {deployment.github_id} to {deployment.environment}: {ctx.payload['deployment_status']['state']}"


def handle_workflow_run(ctx: WebhookContext) -> str:
    repository = ctx.repository()
    run = ctx.payload["workflow_run"]
    _applied(ingest_workflow_runs(repository, [run]))
    return f"workflow run {run.get('name') or run['id']} #{run['run_number']} {run.get('status') or ''}".rstrip()


# -- repositories and the GitHub App installation --------------------------------------------------------------------
def handle_repository(ctx: WebhookContext) -> str:
    data = ctx.payload["repository"]
    if ctx.action == "deleted":
        updated = Repository.objects.filter(github_id=data["id"]).update(
            is_active=False, unavailable_reason="Deleted on GitHub"
        )
        if not updated:
            raise DeliveryIgnored(f"{data.get('full_name')} was not followed")
        return f"{data.get('full_name')} deleted on GitHub: no longer followed"
    known = Repository.objects.filter(github_id=data["id"]).exists()
    if not known:
        ctx.repository()  # adds it if it belongs to the organization, else ignores the delivery
    else:
        _applied(ingest_repositories([data]))
    owner = (data.get("owner") or {}).get("login", "")
    org = settings.GITHUB_ORG
    if ctx.action == "transferred" and org and owner.lower() != org.lower():
        Repository.objects.filter(github_id=data["id"]).update(
            is_active=False, unavailable_reason=f"Transferred to {owner}"
        )
        return f"{data['full_name']} transferred out of {org}: no longer followed"
    return f"{data['full_name']} {ctx.action}"


def _repository_ids(ctx: WebhookContext, key: str) -> list[int]:
    """The ids of the payload's list of repositories; one that is not a GitHub id fails the delivery."""
    items = ctx.payload.get(key) or []
    if not isinstance(items, list):
        raise ValueError(f"malformed payload: {key} is not a list")
    for i, item in enumerate(items):
        if not (isinstance(item, dict) and is_github_id(item.get("id"))):
            raise ValueError(f"malformed payload: {key}[{i}] has no repository id")
    return [item["id"] for item in items]


def handle_installation(ctx: WebhookContext) -> str:
    repositories = _repository_ids(ctx, "repositories")
    if ctx.action in ("deleted", "suspend"):
        reason = "GitHub App uninstalled" if ctx.action == "deleted" else "GitHub App installation suspended"
        Repository.objects.filter(github_id__in=repositories).update(is_active=False, unavailable_reason=reason)
        return f"installation {ctx.action}: {len(repositories)} repositories no longer followed"
    if ctx.action == "unsuspend":
        Repository.objects.filter(github_id__in=repositories).update(is_active=True, unavailable_reason="")
    _queue_organization_sync()
    return f"installation {ctx.action}: repositories resynced"


def handle_installation_repositories(ctx: WebhookContext) -> str:
    removed = _repository_ids(ctx, "repositories_removed")
    if removed:
        Repository.objects.filter(github_id__in=removed).update(
            is_active=False, unavailable_reason="Removed from the GitHub App installation"
        )
    added = ctx.payload.get("repositories_added") or []
    if added:
        _queue_organization_sync()
    return f"{len(added)} repositories added, {len(removed)} removed"


Handler = Callable[[WebhookContext], str]

# event -> (actions handled, or None for events without actions, handler)
HANDLERS: dict[str, tuple[frozenset[str] | None, Handler]] = {
    GitHubEvent.PULL_REQUEST: (
        frozenset(
            {
                "opened",
                "reopened",
                "closed",
                "synchronize",
                "ready_for_review",
                "converted_to_draft",
                "edited",
                "review_requested",
                "review_request_removed",
            }
        ),
        handle_pull_request,
    ),
    GitHubEvent.PULL_REQUEST_REVIEW: (frozenset({"submitted", "edited", "dismissed"}), handle_pull_request_review),
    GitHubEvent.PUSH: (None, handle_push),
    GitHubEvent.CREATE: (None, handle_create),
    GitHubEvent.DELETE: (None, handle_delete),
    GitHubEvent.DEPLOYMENT: (frozenset({"created"}), handle_deployment),
    GitHubEvent.DEPLOYMENT_STATUS: (frozenset({"created"}), handle_deployment_status),
    GitHubEvent.WORKFLOW_RUN: (frozenset({"requested", "in_progress", "completed"}), handle_workflow_run),
    GitHubEvent.RELEASE: (frozenset({"published", "created", "released", "prereleased", "edited"}), handle_release),
    GitHubEvent.REPOSITORY: (
        frozenset(
            {
                "created",
                "deleted",
                "archived",
                "unarchived",
                "edited",
                "renamed",
                "transferred",
                "privatized",
                "publicized",
            }
        ),
        handle_repository,
    ),
    GitHubEvent.INSTALLATION: (
        frozenset({"created", "deleted", "suspend", "unsuspend", "new_permissions_accepted"}),
        handle_installation,
    ),
    GitHubEvent.INSTALLATION_REPOSITORIES: (frozenset({"added", "removed"}), handle_installation_repositories),
}

APP_ONLY_EVENTS = frozenset({GitHubEvent.INSTALLATION, GitHubEvent.INSTALLATION_REPOSITORIES})
WEBHOOK_EVENTS = sorted(str(event) for event in HANDLERS if event not in APP_ONLY_EVENTS)
"""The events the organization webhook subscribes to (`github_webhooks install`). The installation events
reach a GitHub App's own webhook only; an organization webhook cannot subscribe to them."""


def why_ignored(event: str, action: str) -> str:
    """Empty when the event and action are handled, else the reason they are not."""
    entry = HANDLERS.get(event)
    if entry is None:
        return f"event {event!r} is not used by Trunkline"
    actions = entry[0]
    if actions is not None and action not in actions:
        return f"{event} action {action or '(none)'!r} does not change the delivery pipeline"
    return ""


def run_followups(ctx: WebhookContext) -> list[str]:
    """Run a processed delivery's reads from GitHub, each on its own; returns notes for the delivery's result.
    None of them fails the delivery: what GitHub refuses now, the periodic sync reads later."""
    if not ctx.followups:
        return []
    client = ctx.github()
    if client is None:
        return ["GitHub reads left to the sync (no API credentials)"]
    notes = []
    for followup in ctx.followups:
        try:
            notes.append(followup(client))
        except GitHubNotFound:
            notes.append("not readable on GitHub (404); left to the sync")
        except GitHubError as exc:
            logger.warning("webhook follow-up left to the sync: %s", exc)
            notes.append(f"left to the sync: {exc}")
        except Exception:
            logger.exception("webhook follow-up failed; left to the sync")
            notes.append("a read from GitHub failed; left to the sync")
    return notes


def handle(ctx: WebhookContext) -> str:
    """Apply one delivery; returns what it did in words. Raises DeliveryIgnored, GitHubError, or an error
    about a malformed payload."""
    reason = why_ignored(ctx.event, ctx.action)
    if reason:
        raise DeliveryIgnored(reason)
    _, handler = HANDLERS[ctx.event]
    return handler(ctx)
