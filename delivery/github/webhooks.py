"""GitHub webhook deliveries: verify, store, queue, process at most once, and recover what was missed.

GitHub does not redeliver a failed delivery by itself, so the endpoint stores every valid delivery before it
answers, and everything after that is recoverable from the row: the task is queued on commit; if the broker
cannot take it, a periodic sweep queues it later; a delivery is claimed with one conditional UPDATE, so two
copies (a duplicate, a redelivery, a sweep racing the first task) never process it twice; and a periodic
check of GitHub's hook-deliveries log asks GitHub to redeliver what never reached us."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from delivery.core.claims import ClaimHeartbeat
from delivery.github.client import GitHubClient, GitHubError
from delivery.github.events import repository_changed_announce
from delivery.github.ingest import parse_time
from delivery.github.models import Repository, SyncCursor, WebhookDelivery
from delivery.github.webhook_handlers import (
    WEBHOOK_EVENTS,
    DeliveryIgnored,
    WebhookContext,
    configured_client,
    handle,
    run_followups,
    why_ignored,
)
from delivery.github.webhook_input import (
    EVENT_LENGTH,
    GUID_LENGTH,
    MalformedDelivery,
    header_token,
    is_github_id,
    payload_parse,
    storable_text,
    unstorable_text,
)
from delivery.github.webhook_names import DELIVERY_HEADER, EVENT_HEADER, GitHubEvent

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
Outcome = WebhookDelivery.Outcome


# -- the signature --------------------------------------------------------------------------------------------------
def signature_for(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(*, secret: str, body: bytes, header: str) -> bool:
    """`X-Hub-Signature-256` is the HMAC-SHA256 of the raw body; compared in constant time, as bytes (a header
    with characters outside ASCII is simply wrong, not an error)."""
    if not (secret and header):
        return False
    return hmac.compare_digest(signature_for(secret, body).encode(), header.encode("utf-8", "replace"))


# -- receiving ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Receipt:
    status: str  # queued | ignored | pong | requeued | duplicate
    delivery_id: int
    detail: str = ""


def delivery_receive(*, guid: str, event: str, body: bytes, hook_id: str = "", content_type: str = "") -> Receipt:
    """Store a verified delivery and queue its processing on commit. The row is written whether or not the
    broker is up; a GUID seen before is not stored twice (a redelivery of a failed one is processed again).
    A hook set to GitHub's `form` content type sends `payload=<JSON>`: the JSON is what is stored. A request that
    is not a delivery (webhook_input) raises MalformedDelivery; text no column can hold is stored replaced."""
    guid = header_token(guid, header=DELIVERY_HEADER, max_length=GUID_LENGTH)
    event = header_token(event, header=EVENT_HEADER, max_length=EVENT_LENGTH)
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        form = parse_qs(body.decode("utf-8", "replace"))
        if "payload" in form:  # else: a JSON body sent with the wrong content type; read it as JSON
            body = form["payload"][0].encode()
    payload = payload_parse(body)
    action = given if isinstance(given := payload.get("action"), str) else ""
    repo = about if isinstance(about := payload.get("repository"), dict) else {}
    repo_id = repo.get("id")
    ignored = "pong" if event == GitHubEvent.PING else why_ignored(event, action)
    now = timezone.now()
    row = WebhookDelivery(
        guid=guid,
        event=event,
        action=storable_text(action, 60),
        hook_id=int(hook_id) if hook_id.isascii() and hook_id.isdigit() and len(hook_id) < 19 else None,
        repository=Repository.objects.filter(github_id=repo_id).first() if is_github_id(repo_id) else None,
        repository_full_name=storable_text(str(repo.get("full_name") or ""), 201),
        body=body,
        outcome=Outcome.IGNORED if ignored else Outcome.PENDING,
        processed_at=now if ignored else None,
        queued_at=None if ignored else now,
        result=storable_text(ignored, 500),
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        return _received_again(guid)
    if ignored:
        return Receipt("pong" if event == GitHubEvent.PING else "ignored", row.pk, ignored)
    transaction.on_commit(lambda: delivery_enqueue(row.pk))
    return Receipt("queued", row.pk)


def _received_again(guid: str) -> Receipt:
    """A GUID already stored: a failed one with attempts left goes back to the queue (one conditional UPDATE, so
    copies arriving at once requeue it once, and a burst of them at most its MAX_ATTEMPTS, as a dead worker's
    claim); anything else is acknowledged and left alone (the operator's Replay still takes a failed one)."""
    existing = WebhookDelivery.objects.filter(guid=guid).values("pk", "outcome", "attempts").first()
    if existing is None:  # deleted between the INSERT and this read; GitHub will have it redelivered
        raise MalformedDelivery("delivery GUID conflict; please retry")
    requeued = WebhookDelivery.objects.filter(
        pk=existing["pk"], outcome=Outcome.FAILED, attempts__lt=MAX_ATTEMPTS
    ).update(outcome=Outcome.PENDING, queued_at=timezone.now(), error="")
    if requeued:
        transaction.on_commit(lambda: delivery_enqueue(existing["pk"]))
        return Receipt("requeued", existing["pk"], "a redelivery of a failed delivery: processing it again")
    if existing["outcome"] == Outcome.FAILED and existing["attempts"] >= MAX_ATTEMPTS:
        detail = f"already received, failed after {existing['attempts']} attempts: replay it from Trunkline's page"
        return Receipt("duplicate", existing["pk"], detail)
    return Receipt("duplicate", existing["pk"], f"already received ({existing['outcome']})")


_broker_down_until = 0.0
BROKER_PAUSE_SECONDS = 30.0


def delivery_enqueue(delivery_id: int) -> bool:
    """Hand a stored delivery to the broker. If the broker is down the delivery stays stored with no
    `queued_at`, and the sweep queues it once the broker is back; the webhook's answer never waits. After a
    failure this process stops trying for a little while, so a dead broker costs one timeout, not one each."""
    global _broker_down_until
    from delivery.github.tasks import process_webhook_delivery_task

    if time.monotonic() < _broker_down_until:
        WebhookDelivery.objects.filter(pk=delivery_id, outcome=Outcome.PENDING).update(queued_at=None)
        return False
    try:
        process_webhook_delivery_task.apply_async((delivery_id,), retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker failure: keep the row for the sweep
        _broker_down_until = time.monotonic() + BROKER_PAUSE_SECONDS
        logger.warning(
            "webhook delivery %s stored but not queued (broker: %s); the sweep will queue it", delivery_id, exc
        )
        WebhookDelivery.objects.filter(pk=delivery_id, outcome=Outcome.PENDING).update(queued_at=None)
        return False
    return True


def broker_pause_reset() -> None:
    global _broker_down_until
    _broker_down_until = 0.0


# -- processing -----------------------------------------------------------------------------------------------------
def claim_stale() -> timedelta:
    """A claim whose heartbeat is this old belongs to a worker that died: the delivery may be claimed again.
    The worker renews it four times as often (WEBHOOK_CLAIM_STALE_SECONDS)."""
    return timedelta(seconds=settings.WEBHOOK_CLAIM_STALE_SECONDS)


MAX_ATTEMPTS = 5
"""Claims of one delivery before it is marked failed (a payload that kills its worker every time)."""


class _ClaimLost(Exception):
    """The delivery was reclaimed while this worker processed it: its writes are rolled back."""


def delivery_claim(delivery_id: int, *, now: datetime | None = None) -> datetime | None:
    """Take a delivery for processing with one conditional UPDATE; returns the claim's time, which later writes
    must match (the claim's token), or None when it is done, failed, or another worker has it."""
    now = now or timezone.now()
    claimable = Q(outcome=Outcome.PENDING) | (_stale_claims(now) & Q(attempts__lt=MAX_ATTEMPTS))
    taken = WebhookDelivery.objects.filter(claimable, pk=delivery_id).update(
        outcome=Outcome.PROCESSING, processing_started_at=now, claim_heartbeat_at=now, attempts=F("attempts") + 1
    )
    return now if taken == 1 else None


def _stale_claims(now: datetime) -> Q:
    return Q(outcome=Outcome.PROCESSING, claim_heartbeat_at__lt=now - claim_stale())


def _claim_heartbeat(delivery_id: int, claimed_at: datetime) -> ClaimHeartbeat:
    claim = WebhookDelivery.objects.filter(pk=delivery_id, outcome=Outcome.PROCESSING, processing_started_at=claimed_at)
    return ClaimHeartbeat(claim, field="claim_heartbeat_at", every=claim_stale().total_seconds() / 4)


def delivery_process(*, delivery_id: int, client_factory: Any = configured_client) -> str:
    """Process one stored delivery, at most once successfully; returns the outcome.

    The handler's writes and the `processed` mark commit in one transaction, conditional on this worker's claim,
    so a delivery is never applied twice. Reads from GitHub (a pull request's reviews and commits, the parents
    of pushed commits) come after that commit, outside any transaction, and are best effort: GitHub's limits
    or outages leave them to the next sync. Anything that goes wrong in the handler marks the delivery failed
    with the reason, for the operator page and a replay."""
    claimed_at = delivery_claim(delivery_id)
    if claimed_at is None:
        return "skipped"
    with _claim_heartbeat(delivery_id, claimed_at):
        outcome, ctx = _apply(delivery_id, claimed_at, client_factory)
    if outcome != Outcome.PROCESSED:
        return outcome
    try:
        notes = run_followups(ctx)
    finally:
        ctx.close()
    if notes:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            result=storable_text(f"{ctx.result} ({'; '.join(notes)})", 500)
        )
    if ctx.followups and ctx.repository_id is not None:
        repository_changed_announce(repository_id=ctx.repository_id)  # what the reads added (commit positions)
    return Outcome.PROCESSED


def _apply(delivery_id: int, claimed_at: datetime, client_factory: Any) -> tuple[str, WebhookContext]:
    """The handler's writes and the outcome, in one transaction while the claim is this worker's."""
    delivery = WebhookDelivery.objects.defer("body").get(pk=delivery_id)
    body = WebhookDelivery.objects.filter(pk=delivery_id).values_list("body", flat=True).get()
    ctx = WebhookContext(
        event=delivery.event,
        action=delivery.action,
        payload={},
        received_at=delivery.received_at,
        client_factory=client_factory,
    )
    try:
        ctx.payload = json.loads(bytes(body))
        if problem := unstorable_text(ctx.payload):
            raise ValueError(f"malformed payload: {problem}")
        with transaction.atomic():
            ctx.result = handle(ctx)
            if not _finish(delivery_id, claimed_at, Outcome.PROCESSED, result=ctx.result):
                raise _ClaimLost
            if ctx.repository_id is not None:
                repository_changed_announce(repository_id=ctx.repository_id)
    except _ClaimLost:
        return "skipped", ctx
    except DeliveryIgnored as exc:
        _finish(delivery_id, claimed_at, Outcome.IGNORED, result=str(exc))
        return Outcome.IGNORED, ctx
    except Exception as exc:
        logger.exception("webhook delivery %s (%s.%s) failed", delivery.guid, delivery.event, delivery.action)
        where = traceback.extract_tb(exc.__traceback__)[-1]
        error = f"{exc.__class__.__name__}: {exc} (at {where.filename.rsplit('/', 1)[-1]}:{where.lineno})"
        _finish(delivery_id, claimed_at, Outcome.FAILED, error=error)
        return Outcome.FAILED, ctx
    return Outcome.PROCESSED, ctx


def _finish(delivery_id: int, claimed_at: datetime, outcome: str, *, result: str = "", error: str = "") -> bool:
    """Record the outcome, only while the claim is still this worker's."""
    return bool(
        WebhookDelivery.objects.filter(
            pk=delivery_id, outcome=Outcome.PROCESSING, processing_started_at=claimed_at
        ).update(
            outcome=outcome,
            processed_at=timezone.now(),
            result=storable_text(result, 500),
            error=storable_text(error, 4000),
        )
    )


# -- the sweep and replays ------------------------------------------------------------------------------------------
def lost_message() -> timedelta:
    """A delivery queued this long ago and still pending lost its message: a worker that died had reserved it, or
    the broker restarted without persistence (WEBHOOK_LOST_MESSAGE_SECONDS). A message that was only slow to
    arrive is then processed by whichever copy comes first; the other finds it claimed."""
    return timedelta(seconds=settings.WEBHOOK_LOST_MESSAGE_SECONDS)


def deliveries_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """Queue stored-but-unprocessed deliveries: never queued (the broker was down), queued long ago and still
    pending, or stuck `processing` on a dead worker. Oldest first, so they are applied roughly in order."""
    now = now or timezone.now()
    due = (
        Q(outcome=Outcome.PENDING, queued_at__isnull=True)
        | Q(outcome=Outcome.PENDING, queued_at__lt=now - lost_message())
        | _stale_claims(now)
    )
    WebhookDelivery.objects.filter(_stale_claims(now), attempts__gte=MAX_ATTEMPTS).update(
        outcome=Outcome.FAILED,
        processed_at=now,
        error=f"gave up after {MAX_ATTEMPTS} attempts: the worker stopped while processing it each time",
    )
    ids = list(WebhookDelivery.objects.filter(due).order_by("received_at").values_list("pk", flat=True)[:limit])
    queued = 0
    broker_pause_reset()  # the sweep is how a paused process finds out the broker is back
    for pk in ids:
        WebhookDelivery.objects.filter(pk=pk).update(queued_at=now)
        if not delivery_enqueue(pk):
            break  # the broker is still down: try again at the next sweep
        queued += 1
    return queued


def delivery_replay(*, delivery_id: int, seen_attempts: int | None = None) -> bool:
    """Process a failed (or ignored) delivery again from its stored body — the operator's "replay". The page's
    button names the attempts it showed: replays from one page view reprocess it once, however many arrive."""
    replayable = WebhookDelivery.objects.filter(pk=delivery_id, outcome__in=[Outcome.FAILED, Outcome.IGNORED])
    if seen_attempts is not None:
        replayable = replayable.filter(attempts=seen_attempts)
    replayed = replayable.update(outcome=Outcome.PENDING, queued_at=timezone.now(), error="")
    if replayed:
        transaction.on_commit(lambda: delivery_enqueue(delivery_id))
    return bool(replayed)


# -- GitHub's side: the organization hook and its delivery log ------------------------------------------------------
def webhook_url() -> str:
    return settings.TRUNKLINE_PUBLIC_URL.rstrip("/") + WEBHOOK_PATH


WEBHOOK_PATH = "/webhooks/github/"


@dataclass
class HookInstall:
    action: str  # created | updated | unchanged
    hook_id: int
    url: str
    events: list[str]
    previous_url: str = ""


def organization_hook_install(*, client: GitHubClient, org: str, url: str, secret: str) -> HookInstall:
    """Create the organization webhook for Trunkline, or bring the existing one up to date: the hook with this
    URL, else a Trunkline hook at another address (Trunkline moved), so a new URL never leaves a dead hook."""
    events = list(WEBHOOK_EVENTS)
    config = {"url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0"}
    hooks = _organization_hooks(client, org)
    ours = [h for h in hooks if _hook_url(h) == url] or [h for h in hooks if _hook_url(h).endswith(WEBHOOK_PATH)]
    if ours:
        hook = ours[0]
        # GitHub never shows a hook's secret, so it is always sent again.
        client.request(
            "PATCH", f"/orgs/{org}/hooks/{hook['id']}", body={"config": config, "events": events, "active": True}
        )
        previous = _hook_url(hook)
        same = previous == url and sorted(hook.get("events") or []) == events and hook.get("active", True)
        return HookInstall("unchanged" if same else "updated", hook["id"], url, events, previous)
    response = client.post(f"/orgs/{org}/hooks", {"name": "web", "config": config, "events": events, "active": True})
    return HookInstall("created", response.data["id"], url, events)


def _hook_url(hook: dict[str, Any]) -> str:
    return str((hook.get("config") or {}).get("url") or "")


def _organization_hooks(client: GitHubClient, org: str) -> list[dict[str, Any]]:
    return [hook for page in client.iter_pages(f"/orgs/{org}/hooks") for hook in page.items]


RECOVERY_LOOKBACK = timedelta(days=3)  # how long github.com keeps deliveries
RECOVERY_OVERLAP = timedelta(hours=1)


@dataclass
class Recovery:
    hooks: int = 0
    checked: int = 0
    redelivered: int = 0
    refused: int = 0
    failed_guids: int = 0


MAX_REDELIVERIES = 3


def _worth_redelivering(attempts: list[dict[str, Any]]) -> bool:
    """Every attempt of this GUID failed for want of Trunkline (no answer, or a 5xx), and Trunkline has not
    already been asked to take it back too often. A 4xx was our deliberate "no" (a bad signature, too big):
    redelivering would get the same answer."""
    codes = [int(a.get("status_code") or 0) for a in attempts]
    if any(200 <= code < 400 for code in codes):
        return False
    if sum(1 for a in attempts if a.get("redelivery")) >= MAX_REDELIVERIES:
        return False
    return all(code == 0 or code >= 500 for code in codes)


def failed_deliveries_recover(
    *, client: GitHubClient, org: str, now: datetime | None = None, limit: int = 100
) -> Recovery:
    """Ask GitHub to redeliver what it failed to deliver to us (Trunkline was down, a network drop) and we do
    not have. Reads each Trunkline hook's delivery log newest first, back to the last check (less an
    overlap, and never past an unresolved failure), at most three days."""
    now = now or timezone.now()
    cursor, _ = SyncCursor.objects.get_or_create(repository=None, resource=SyncCursor.Resource.WEBHOOK_DELIVERIES)
    since = max(now - RECOVERY_LOOKBACK, (cursor.high_water_at or now - RECOVERY_LOOKBACK) - RECOVERY_OVERLAP)
    recovery = Recovery()
    oldest_unresolved: datetime | None = None
    url = webhook_url()
    for hook in _organization_hooks(client, org):
        if (hook.get("config") or {}).get("url") != url:
            continue
        recovery.hooks += 1
        attempts: dict[str, list[dict[str, Any]]] = {}
        for page in client.iter_pages(f"/orgs/{org}/hooks/{hook['id']}/deliveries"):
            done = False
            for item in page.items:
                delivered = _time(item.get("delivered_at"))
                if delivered is not None and delivered < since:
                    done = True
                    break
                attempts.setdefault(item["guid"], []).append(item)
                recovery.checked += 1
            if done:
                break
        failed = {guid: items for guid, items in attempts.items() if _worth_redelivering(items)}
        have = set(WebhookDelivery.objects.filter(guid__in=list(failed)).values_list("guid", flat=True))
        recovery.failed_guids += len(failed)
        for guid, items in failed.items():
            if guid in have:
                continue
            latest = max(items, key=lambda i: i.get("delivered_at") or "")
            moment = _time(latest.get("delivered_at"))
            if recovery.redelivered >= limit:
                oldest_unresolved = min(filter(None, (oldest_unresolved, moment)), default=None)
                continue
            try:
                client.post(f"/orgs/{org}/hooks/{hook['id']}/deliveries/{latest['id']}/attempts", {})
            except GitHubError as exc:
                if not exc.permanent:
                    raise  # a limit or an outage: the cursor stays where it was, the next run goes on
                # GitHub refuses this one (too old, gone): the others still get their redelivery.
                logger.warning("GitHub refused to redeliver %s: %s", guid, exc)
                recovery.refused += 1
                continue
            recovery.redelivered += 1
    cursor.high_water_at = min(filter(None, (oldest_unresolved, now)))
    cursor.last_success_at = cursor.last_attempt_at = now
    cursor.last_error = ""
    cursor.save()
    return recovery


def _time(value: Any) -> datetime | None:
    try:
        return parse_time(value)
    except (TypeError, ValueError):
        return None
