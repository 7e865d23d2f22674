"""ClickUp's webhook deliveries: verified, stored and queued here; processed at most once by the flows
(delivery.flows.task_webhooks, through delivery.core.deliveries, as GitHub's are).

ClickUp signs each delivery with the secret it returned when the webhook was made: `X-Signature` is the hex
HMAC-SHA256 of the raw body. It names no delivery, and a retry repeats the body: the body's SHA-256 is the delivery's
identity, so a copy is stored once and processed once."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from delivery.clickup.client import ClickUpClient, Webhook
from delivery.clickup.models import ClickUpDelivery
from delivery.core.deliveries import DeliveryQueue
from delivery.core.payloads import MalformedDelivery, hmac_sha256_hex, payload_parse, signature_matches, storable_text

SIGNATURE_HEADER = "X-Signature"
WEBHOOK_PATH = "/webhooks/clickup/"
EVENTS = ["taskStatusUpdated", "taskUpdated", "taskAssigneeUpdated", "taskDeleted"]
"""What Trunkline asks ClickUp to send: a task's status, name and assignees as they change, and its deletion."""
PROCESS_TASK = "flows.clickup_delivery"
"""The Celery task that processes one stored delivery (delivery.flows.tasks)."""
MAX_BODY_BYTES = 5 * 1024 * 1024
"""A task's delivery is a few kilobytes (a description's change carries the description): far more is not one."""

QUEUE = DeliveryQueue(ClickUpDelivery, task=PROCESS_TASK)
Outcome = ClickUpDelivery.Outcome


def signature_valid(*, secret: str, body: bytes, header: str) -> bool:
    """`X-Signature` is the hex HMAC-SHA256 of the raw body with the webhook's secret, compared in constant time."""
    return bool(secret) and signature_matches(hmac_sha256_hex(secret, body), header.strip().lower())


@dataclass(frozen=True)
class Receipt:
    status: str  # queued | ignored | requeued | duplicate
    delivery_id: int
    detail: str = ""


def delivery_receive(*, body: bytes) -> Receipt:
    """Store a verified delivery and queue its processing on commit (the row is written whether or not the broker is
    up). A copy of a stored one is not stored twice; a copy of a failed one is processed again while it has attempts
    left. An event Trunkline did not ask for is stored as ignored. A body that is not a task's delivery raises
    MalformedDelivery."""
    payload = payload_parse(body)
    event = payload.get("event")
    if not isinstance(event, str) or not event:
        raise MalformedDelivery("no `event` in the body: not a ClickUp delivery")
    task_id = payload.get("task_id")
    if event in EVENTS and not (isinstance(task_id, str | int) and str(task_id).strip()):
        raise MalformedDelivery(f"a {event} delivery without its `task_id`")
    ignored = "" if event in EVENTS else f"{storable_text(event, 60)}: not an event Trunkline follows"
    now = timezone.now()
    row = ClickUpDelivery(
        key=hashlib.sha256(body).hexdigest(),
        event=storable_text(event, 60),
        task_id=storable_text(str(task_id or ""), 50),
        webhook_id=storable_text(str(payload.get("webhook_id") or ""), 100),
        body=body,
        outcome=Outcome.IGNORED if ignored else Outcome.PENDING,
        processed_at=now if ignored else None,
        queued_at=None if ignored else now,
        result=ignored,
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        existing = ClickUpDelivery.objects.filter(key=row.key).values("pk", "outcome").first()
        if existing is None:  # deleted between the INSERT and this read: ClickUp retries
            raise MalformedDelivery("delivery conflict; please retry") from None
        if QUEUE.requeue_failed(existing["pk"]):
            return Receipt("requeued", existing["pk"], "a copy of a failed delivery: processing it again")
        return Receipt("duplicate", existing["pk"], f"already received ({existing['outcome']})")
    if ignored:
        return Receipt("ignored", row.pk, ignored)
    QUEUE.enqueue_on_commit(row.pk)
    return Receipt("queued", row.pk)


def webhook_url() -> str:
    return settings.TRUNKLINE_PUBLIC_URL.rstrip("/") + WEBHOOK_PATH


@dataclass(frozen=True)
class Installed:
    webhook_id: str
    secret: str
    replaced: list[str]  # the ids of Trunkline's earlier webhooks at this address, deleted


def webhook_install(*, client: ClickUpClient, endpoint: str, replace: bool) -> Installed | Webhook:
    """Register the workspace's webhook to `endpoint` with EVENTS. ClickUp shows a webhook's secret only when it makes
    it, so a webhook already there is returned as it is (the operator set its secret then) unless `replace`: then it
    is deleted and a new one made, with a new secret."""
    existing = [hook for hook in client.webhooks() if hook.endpoint == endpoint]
    if existing and not replace:
        return existing[0]
    for hook in existing:
        client.webhook_delete(webhook_id=hook.id)
    webhook_id, secret = client.webhook_create(endpoint=endpoint, events=EVENTS)
    return Installed(webhook_id, secret, [hook.id for hook in existing])
