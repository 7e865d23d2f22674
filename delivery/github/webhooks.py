"""GitHub webhook deliveries: verify, store, queue, process at most once, and recover what was missed.

GitHub does not redeliver a failed delivery by itself, so the endpoint stores every valid delivery before it
answers, and everything after that is recoverable from the row (delivery.core.deliveries: queued on commit, swept
when the broker could not take it, claimed with one conditional UPDATE so two copies never process it twice); and a
periodic check of GitHub's hook-deliveries log asks GitHub to redeliver what never reached us."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from delivery.core.deliveries import MAX_ATTEMPTS, DeliveryQueue, broker_pause_reset, claim_stale, lost_message
from delivery.core.payloads import hmac_sha256_hex, signature_matches
from delivery.github.client import GitHubClient, GitHubError
from delivery.github.events import repository_changed_announce
from delivery.github.ingest import parse_time
from delivery.github.models import Repository, SyncCursor, WebhookDelivery
from delivery.github.webhook_handlers import (
    WEBHOOK_EVENTS,
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

__all__ = ["MAX_ATTEMPTS", "broker_pause_reset", "claim_stale", "lost_message"]
logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
Outcome = WebhookDelivery.Outcome


# -- the signature --------------------------------------------------------------------------------------------------
def signature_for(secret: str, body: bytes) -> str:
    return "sha256=" + hmac_sha256_hex(secret, body)


def signature_valid(*, secret: str, body: bytes, header: str) -> bool:
    """`X-Hub-Signature-256` is "sha256=" and the hex HMAC-SHA256 of the raw body, compared in constant time."""
    return bool(secret) and signature_matches(signature_for(secret, body), header)


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
    QUEUE.enqueue_on_commit(row.pk)
    return Receipt("queued", row.pk)


def _received_again(guid: str) -> Receipt:
    """A GUID already stored: a failed one with attempts left goes back to the queue (one conditional UPDATE, so
    copies arriving at once requeue it once, and a burst of them at most its MAX_ATTEMPTS, as a dead worker's
    claim); anything else is acknowledged and left alone (the operator's Replay still takes a failed one)."""
    existing = WebhookDelivery.objects.filter(guid=guid).values("pk", "outcome", "attempts").first()
    if existing is None:  # deleted between the INSERT and this read; GitHub will have it redelivered
        raise MalformedDelivery("delivery GUID conflict; please retry")
    if QUEUE.requeue_failed(existing["pk"]):
        return Receipt("requeued", existing["pk"], "a redelivery of a failed delivery: processing it again")
    if existing["outcome"] == Outcome.FAILED and existing["attempts"] >= MAX_ATTEMPTS:
        detail = f"already received, failed after {existing['attempts']} attempts: replay it from Trunkline's page"
        return Receipt("duplicate", existing["pk"], detail)
    return Receipt("duplicate", existing["pk"], f"already received ({existing['outcome']})")


QUEUE = DeliveryQueue(WebhookDelivery, task="delivery.github.tasks.process_webhook_delivery_task")
"""GitHub's deliveries, processed by that task (delivery.github.tasks)."""


def delivery_enqueue(delivery_id: int) -> bool:
    return QUEUE.enqueue(delivery_id)


def delivery_claim(delivery_id: int, *, now: datetime | None = None) -> datetime | None:
    return QUEUE.claim(delivery_id, now=now)


def deliveries_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    return QUEUE.sweep(now=now, limit=limit)


def delivery_replay(*, delivery_id: int, seen_attempts: int | None = None) -> bool:
    return QUEUE.replay(delivery_id, seen_attempts=seen_attempts)


# -- processing -----------------------------------------------------------------------------------------------------
def delivery_process(*, delivery_id: int, client_factory: Any = configured_client) -> str:
    """Process one stored delivery, at most once successfully; returns the outcome.

    The handler's writes and the `processed` mark commit in one transaction, conditional on this worker's claim
    (DeliveryQueue.process), so a delivery is never applied twice. Reads from GitHub (a pull request's reviews and
    commits, the parents of pushed commits) come after that commit, outside any transaction, and are best effort:
    GitHub's limits or outages leave them to the next sync. Anything that goes wrong in the handler marks the
    delivery failed with the reason, for the operator page and a replay."""
    contexts: list[WebhookContext] = []

    def apply(delivery: WebhookDelivery) -> str:
        ctx = WebhookContext(
            event=delivery.event,
            action=delivery.action,
            payload={},
            received_at=delivery.received_at,
            client_factory=client_factory,
        )
        contexts.append(ctx)
        ctx.payload = json.loads(bytes(delivery.body))
        if problem := unstorable_text(ctx.payload):
            raise ValueError(f"malformed payload: {problem}")
        ctx.result = handle(ctx)
        if ctx.repository_id is not None:
            repository_changed_announce(repository_id=ctx.repository_id)
        return ctx.result

    outcome = QUEUE.process(delivery_id, apply)
    if outcome != Outcome.PROCESSED:
        for ctx in contexts:
            ctx.close()
        return outcome
    ctx = contexts[-1]
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
