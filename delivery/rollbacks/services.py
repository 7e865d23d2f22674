"""One-click rollback: request (checked, idempotent, one in flight per repository and environment), execution
on GitHub by the repository's method, and following GitHub until it succeeds, fails or times out.

State machine: requested → dispatched → deploying → succeeded | failed; failed → requested (retry).
  - requested: the row exists; the task will ask GitHub.
  - dispatched: GitHub accepted the workflow dispatch (or the deployment was created); no deployment of the
    target seen yet.
  - deploying: a production deployment of the target, created after the request, is known.
  - succeeded / failed: that deployment's final status; or failed with the GitHub error, or the timeout.
The database closes the races: the idempotency key is unique (a double click or a resubmitted form returns the
same rollback), and a partial unique index allows one in-flight rollback per repository and environment (a
second request gets 409 and sees the first). Every transition is one conditional UPDATE from the expected state."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from delivery.accounts.audit import audit
from delivery.accounts.models import AuditEvent
from delivery.accounts.roles import can_start_rollback
from delivery.github.client import GitHubError, GitHubRateLimited, client_from_settings
from delivery.github.ingest_deployments import ingest_deployment_statuses, ingest_deployments
from delivery.github.models import Deployment, Repository
from delivery.pipeline.models import Release
from delivery.rollbacks.models import Rollback
from delivery.rollbacks.selectors import in_flight_rollback, live_release, releases_undone, rollback_targets

logger = logging.getLogger(__name__)
State = Rollback.State
FinishHook = Callable[[Rollback], None]
"""What follows a rollback's end (`on_finished(rollback)`, in the transaction that ends it): the flows'."""
REASON_MAX = 2000
FINAL_DEPLOYMENT_STATES = {"success": State.SUCCEEDED, "failure": State.FAILED, "error": State.FAILED}


class RollbackRefused(Exception):
    """A request that cannot be made: `status` is the HTTP answer (400 bad target, 403 not allowed)."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class ProductionMoved(Exception):
    """What is live is not what the confirmation showed (409): nothing is started; the person sees the new live
    release and what going back from it undoes, and confirms again."""

    def __init__(self, live: Release) -> None:
        label = live.tag_name or live.sha[:7]
        super().__init__(
            f"Production moved while you were deciding: {label} is live now. Check what this rollback undoes "
            "now, and confirm again."
        )
        self.live = live


class RollbackInFlight(Exception):
    """Another rollback of this repository and environment is in flight (409)."""

    def __init__(self, rollback: Rollback) -> None:
        super().__init__(f"A rollback of {rollback.repository} is already in flight: to {rollback.target_tag}.")
        self.rollback = rollback


# -- requesting --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Requested:
    rollback: Rollback
    created: bool  # False: this idempotency key had already started it


def rollback_request(
    *,
    release: Release,
    target: Release,
    user: Any,
    reason: str,
    idempotency_key: str,
    shown_live_id: int | None,
    request: Any = None,
    now: datetime | None = None,
) -> Requested:
    """Roll `release`'s repository back from what is live now to `target`. What is checked is the live release,
    whichever page the request came from: it must be the one the person was shown (`shown_live_id`, from the
    confirmation; None only for callers that showed nobody anything), its owners (a developer rolls back only their
    own), its earlier releases (the targets). Every release it undoes is recorded (the flow marks them failed in
    the same transaction, and their watches end when the rollback succeeds). Raises RollbackRefused,
    ProductionMoved or RollbackInFlight."""
    now = now or timezone.now()
    repository = release.repository
    live = live_release(repository) or release
    if not can_start_rollback(user, set(live.owners.values_list("pk", flat=True))):
        raise RollbackRefused("Your role does not allow rolling back the release that is live.", status=403)
    if not idempotency_key or len(idempotency_key) > 100:
        raise RollbackRefused("The form is missing its key: reload the page and try again.")
    existing = Rollback.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return Requested(existing, created=False)
    reason = reason.strip()
    if not reason:
        raise RollbackRefused("Say why you roll back: the reason is required.")
    if len(reason) > REASON_MAX:
        raise RollbackRefused(f"The reason is {len(reason):,} characters long: keep it under {REASON_MAX:,}.")
    if repository.gone_since is not None:
        raise RollbackRefused(f"{repository.full_name} is gone from GitHub: there is nothing to roll back there.")
    if shown_live_id is not None and shown_live_id != live.pk:
        raise ProductionMoved(live)
    in_flight = in_flight_rollback(repository.pk, release.environment)
    if in_flight is not None:  # said before judging the target (the database has the last word, below)
        raise RollbackInFlight(in_flight)
    if target.pk not in {t.pk for t in rollback_targets(live)}:
        raise RollbackRefused("The target must be an earlier successful production release of this repository.")
    if not target.tag_name:
        raise RollbackRefused(f"{target.sha[:7]} has no tag to deploy: choose a tagged release.")
    undone = releases_undone(live, target)
    try:
        with transaction.atomic():
            rollback = Rollback.objects.create(
                repository=repository,
                environment=release.environment,
                from_release=live,
                target_release=target,
                target_tag=target.tag_name,
                target_sha=target.sha,
                requested_by=user,
                reason=reason,
                method=repository.rollback_method,
                idempotency_key=idempotency_key,
            )
            rollback.releases_undone.set(undone)
            audit(
                request,
                AuditEvent.Verb.ROLLBACK_REQUESTED,
                actor=user,
                repository=repository,
                target_type="rollback",
                target_id=str(rollback.pk),
                summary=f"Roll back {repository.full_name} {live.tag_name or live.sha[:7]} → {target.tag_name} "
                f"(undoes {', '.join(r.tag_name or r.sha[:7] for r in undone)}): {reason}",
            )
    except IntegrityError:
        again = Rollback.objects.filter(idempotency_key=idempotency_key).first()
        if again is not None:  # the same form, submitted twice at once
            return Requested(again, created=False)
        in_flight = in_flight_rollback(repository.pk, release.environment)
        if in_flight is None:
            raise
        raise RollbackInFlight(in_flight) from None
    return Requested(rollback, created=True)


def rollback_retry(*, rollback: Rollback, user: Any, request: Any = None) -> Rollback:
    """Try a failed rollback again (same target and reason), if what it rolls back is still live. 409 if another is
    in flight meanwhile."""
    owner_ids = set(rollback.from_release.owners.values_list("pk", flat=True))
    if not can_start_rollback(user, owner_ids):
        raise RollbackRefused("Your role does not allow rolling back this release.", status=403)
    live = live_release(rollback.repository)
    if live is not None and live.pk != rollback.from_release_id:
        raise RollbackRefused(
            f"Production has changed since: {live.tag_name or live.sha[:7]} is live now. Start a new rollback from "
            "the on-call page if it is still needed."
        )
    try:
        with transaction.atomic():
            moved = Rollback.objects.filter(pk=rollback.pk, state=State.FAILED).update(
                state=State.REQUESTED,
                error="",
                github_run_id=None,
                deployment=None,
                requested_at=timezone.now(),
                dispatched_at=None,
                deploying_at=None,
                finished_at=None,
            )
            if moved:
                audit(
                    request,
                    AuditEvent.Verb.ROLLBACK_REQUESTED,
                    actor=user,
                    repository=rollback.repository,
                    target_type="rollback",
                    target_id=str(rollback.pk),
                    summary=f"Retry the rollback of {rollback.repository.full_name} to {rollback.target_tag}",
                )
    except IntegrityError:
        in_flight = in_flight_rollback(rollback.repository_id, rollback.environment)
        if in_flight is None:
            raise
        raise RollbackInFlight(in_flight) from None
    rollback.refresh_from_db()
    return rollback


# -- executing ---------------------------------------------------------------------------------------------------
def _transition(rollback: Rollback, from_states: tuple[str, ...], **fields: Any) -> bool:
    return bool(Rollback.objects.filter(pk=rollback.pk, state__in=from_states).update(**fields))


def _too_late_to_start(rollback: Rollback, now: datetime) -> str:
    """Why a requested rollback must not be sent after all ("" if it may): the worker saw it late (the broker was
    down), or production moved on meanwhile. Either way an old version must not go over newer work."""
    if now - rollback.requested_at > timedelta(minutes=settings.ROLLBACK_TIMEOUT_MINUTES):
        return (
            f"Not started within {settings.ROLLBACK_TIMEOUT_MINUTES} minutes of the request (the worker or its "
            "broker was down): nothing was sent to GitHub. Try again if it is still needed."
        )
    live = live_release(rollback.repository)
    if live is not None and live.pk != rollback.from_release_id:
        label = live.tag_name or live.sha[:7]
        return f"Production changed before it started: {label} is live now. Nothing was sent to GitHub."
    return ""


def rollback_execute(
    *, rollback_id: int, on_finished: FinishHook, client: Any = None, now: datetime | None = None
) -> Rollback:
    """Ask GitHub to deploy the target: dispatch the rollback workflow, or create a production deployment of the
    tag. Claimed by requested → dispatched (one conditional UPDATE), so a task run twice dispatches once.
    A GitHub error fails the rollback with the reason in words; it can be retried."""
    now = now or timezone.now()
    rollback = Rollback.objects.select_related("repository").get(pk=rollback_id)
    if rollback.state != State.REQUESTED:
        return rollback
    refusal = _too_late_to_start(rollback, now)
    if refusal:
        _finish(rollback, State.FAILED, error=refusal, now=now, on_finished=on_finished)
        return Rollback.objects.get(pk=rollback.pk)
    if not _transition(rollback, (State.REQUESTED,), state=State.DISPATCHED, dispatched_at=now):
        return rollback  # already dispatched (or finished) by another run
    repository = rollback.repository
    owns_client = client is None
    try:
        client = client or client_from_settings()
        if rollback.method == Repository.RollbackMethod.DEPLOYMENT:
            data = client.post(
                f"/repos/{repository.full_name}/deployments",
                {
                    "ref": rollback.target_tag,
                    "environment": rollback.environment,
                    "task": "deploy",
                    "auto_merge": False,
                    "required_contexts": [],
                    "production_environment": True,
                    "description": f"Rollback to {rollback.target_tag} (Trunkline)"[:140],
                    "payload": {"trunkline_rollback": rollback.pk, "reason": rollback.reason[:500]},
                },
            ).data
            summary = f"deployment {data.get('id')} of {rollback.target_tag} created"
        else:
            workflow = repository.rollback_workflow_file or "rollback.yml"
            inputs = {repository.rollback_workflow_input or "tag": rollback.target_tag}
            client.post(
                f"/repos/{repository.full_name}/actions/workflows/{workflow}/dispatches",
                {"ref": rollback.target_tag, "inputs": inputs},
            )
            summary = f"workflow {workflow} dispatched with {rollback.target_tag}"
    except GitHubError as exc:
        wait = (
            f" GitHub asks to wait until {timezone.localtime(exc.retry_at):%H:%M}."
            if isinstance(exc, GitHubRateLimited)
            else ""
        )
        _finish(
            rollback, State.FAILED, error=f"GitHub refused the rollback: {exc}.{wait}", now=now, on_finished=on_finished
        )
        return Rollback.objects.get(pk=rollback.pk)
    except Exception as exc:  # credentials, network, a bug: the rollback must not look sent
        logger.exception("rollback %s: dispatch failed", rollback.pk)
        error = f"Could not ask GitHub: {type(exc).__name__}: {exc}"
        _finish(rollback, State.FAILED, error=error, now=now, on_finished=on_finished)
        return Rollback.objects.get(pk=rollback.pk)
    finally:
        if owns_client and client is not None:
            client.close()
    audit(
        None,
        AuditEvent.Verb.ROLLBACK_DISPATCHED,
        repository=repository,
        target_type="rollback",
        target_id=str(rollback.pk),
        summary=f"Rollback of {repository.full_name}: {summary}",
    )
    rollback.refresh_from_db()
    return rollback


# -- following ---------------------------------------------------------------------------------------------------
def rollbacks_follow(*, repository_id: int, on_finished: FinishHook, now: datetime | None = None) -> int:
    """Move in-flight rollbacks along what the mirror knows of their deployment (webhooks and the sync keep it
    fresh), and fail those past the timeout. Returns how many changed state."""
    now = now or timezone.now()
    moved = 0
    in_flight = Rollback.objects.filter(
        repository_id=repository_id, state__in=[State.DISPATCHED, State.DEPLOYING]
    ).select_related("repository")
    for rollback in in_flight:
        deployment = _deployment_of(rollback)
        if (
            deployment is not None
            and rollback.deployment_id is None
            and _transition(
                rollback, (State.DISPATCHED,), state=State.DEPLOYING, deploying_at=now, deployment=deployment
            )
        ):
            moved += 1
        if deployment is not None and deployment.state in FINAL_DEPLOYMENT_STATES:
            final = FINAL_DEPLOYMENT_STATES[deployment.state]
            error = f"The deployment of {rollback.target_tag} ended in {deployment.state}."
            error = "" if final == State.SUCCEEDED else error
            moved += _finish(rollback, final, error=error, now=now, deployment=deployment, on_finished=on_finished)
            continue
        minutes = settings.ROLLBACK_TIMEOUT_MINUTES
        if deployment is None and now - (rollback.dispatched_at or rollback.requested_at) > timedelta(minutes=minutes):
            moved += _finish(
                rollback,
                State.FAILED,
                error=f"GitHub started no production deployment of {rollback.target_tag} within {minutes} minutes "
                "of the request: check the rollback workflow on GitHub.",
                now=now,
                on_finished=on_finished,
            )
        elif deployment is not None and now - (rollback.deploying_at or now) > timedelta(minutes=3 * minutes):
            moved += _finish(
                rollback,
                State.FAILED,
                error=f"The deployment of {rollback.target_tag} has not finished after {3 * minutes} minutes "
                f"(it says {deployment.state or 'nothing'}): check it on GitHub.",
                now=now,
                on_finished=on_finished,
            )
    return moved


CLOCK_SKEW = timedelta(seconds=2)
"""How far GitHub's clock (and its whole-second times) may lag ours when it records the deployment a rollback
asked for."""


def _deployment_of(rollback: Rollback) -> Deployment | None:
    """The production deployment of the target that this rollback made: created after it was requested (GitHub's
    whole-second time, give or take CLOCK_SKEW), never one live before the request, never another rollback's. A
    deployment made before the request (an earlier rollback's redeploy of the same tag) is not its result, however
    recent."""
    if rollback.deployment_id:
        return Deployment.objects.filter(pk=rollback.deployment_id).first()
    requested = rollback.requested_at.replace(microsecond=0)
    return (
        Deployment.objects.filter(
            repository_id=rollback.repository_id,
            environment=rollback.environment,
            created_at__gte=requested - CLOCK_SKEW,
        )
        .filter(Q(ref=rollback.target_tag) | Q(sha=rollback.target_sha))
        .exclude(rollbacks__in=Rollback.objects.exclude(pk=rollback.pk))
        .exclude(release__deployed_at__lt=requested - CLOCK_SKEW)
        .order_by("created_at", "github_id")
        .first()
    )


def _finish(
    rollback: Rollback,
    state: str,
    *,
    error: str,
    now: datetime,
    on_finished: FinishHook,
    deployment: Deployment | None = None,
) -> int:
    fields: dict[str, Any] = {"state": state, "error": error[:2000], "finished_at": now}
    if deployment is not None:
        fields["deployment"] = deployment
    with transaction.atomic():
        if not _transition(rollback, tuple(Rollback.IN_FLIGHT), **fields):
            return 0
        audit(
            None,
            AuditEvent.Verb.ROLLBACK_FINISHED,
            repository=rollback.repository,
            target_type="rollback",
            target_id=str(rollback.pk),
            summary=f"Rollback of {rollback.repository.full_name} to {rollback.target_tag}: {state}"
            + (f" ({error})" if error else ""),
        )
        rollback.refresh_from_db()
        on_finished(rollback)
    return 1


def rollbacks_poll(*, on_finished: FinishHook, client: Any = None, now: datetime | None = None) -> int:
    """The fallback when webhooks do not come: start requested rollbacks whose task was lost, read the
    deployments of each in-flight rollback's target from GitHub into the mirror, then follow them."""
    now = now or timezone.now()
    for rollback in Rollback.objects.filter(state=State.REQUESTED, requested_at__lt=now - timedelta(minutes=1)):
        rollback_execute(rollback_id=rollback.pk, on_finished=on_finished, client=client, now=now)
    moved = 0
    repositories = set()
    owns_client = client is None
    for rollback in Rollback.objects.filter(state__in=[State.DISPATCHED, State.DEPLOYING]).select_related("repository"):
        repositories.add(rollback.repository_id)
        client = client or client_from_settings()
        try:
            found = (
                client.get(
                    f"/repos/{rollback.repository.full_name}/deployments",
                    params={"environment": rollback.environment, "ref": rollback.target_tag, "per_page": 10},
                ).data
                or []
            )
            result = ingest_deployments(rollback.repository, found)
            for item in found:
                if not isinstance(item, dict) or not isinstance(item.get("id"), int):
                    continue  # a malformed object: the ingest layer skipped it and said why
                pk = result.ids.get(item["id"])
                deployment = Deployment.objects.filter(pk=pk).first() if pk else None
                if deployment is not None:
                    statuses = (
                        client.get(
                            f"/repos/{rollback.repository.full_name}/deployments/{item['id']}/statuses",
                            params={"per_page": 100},
                        ).data
                        or []
                    )
                    ingest_deployment_statuses(deployment, statuses)
        except GitHubError as exc:
            logger.warning("rollback %s: polling GitHub failed: %s", rollback.pk, exc)
    if owns_client and client is not None:
        client.close()
    for repository_id in repositories:
        moved += rollbacks_follow(repository_id=repository_id, on_finished=on_finished, now=now)
    return moved
