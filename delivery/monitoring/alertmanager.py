"""Alertmanager's webhook deliveries: authenticate, read, store, queue, process at most once.

Alertmanager (0.25, `notify/webhook`) POSTs a JSON message, version "4": the receiver, the group's status, its
labels and `alerts`, each with its status (firing / resolved), labels, annotations, startsAt, endsAt (zero while
firing), generatorURL and fingerprint. It authenticates as its `http_config` says: a bearer token (`authorization`
or `bearer_token`) or basic auth. It retries a 5xx and gives up on a 4xx. So the endpoint answers 401 for wrong or
missing credentials (every delivery, while none are configured), 413 for a body over MAX_BODY_BYTES, 400 with the
reason for a message that is not Alertmanager's (stored all the same, as refused, for an admin to read), and 202
once a delivery is stored. A byte-identical delivery is the same delivery: acknowledged, stored once. Processing
(delivery.flows.incidents) claims the row with a conditional UPDATE, as the GitHub deliveries are claimed."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from delivery.core.deliveries import DeliveryQueue
from delivery.github.webhook_input import MalformedDelivery, payload_parse, storable_text, unstorable_text
from delivery.monitoring.alert_models import AlertDelivery

logger = logging.getLogger(__name__)
Outcome = AlertDelivery.Outcome

ALERTS_RECEIVED = "flows.alerts_received"
"""The task that processes a stored delivery (delivery.flows.tasks), queued by name."""
MAX_BODY_BYTES = 5 * 1024 * 1024
"""About five thousand alerts: far more than one notification of an alert group carries."""
WEBHOOK_VERSION = "4"
FINGERPRINT = re.compile(r"[0-9a-fA-F]{1,64}")
ALERT_FIELDS = ("status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint")


class MalformedAlerts(MalformedDelivery):
    """A message that is not Alertmanager's webhook message (the text says where and why)."""


# -- who may post -------------------------------------------------------------------------------------------------
def credentials_configured() -> bool:
    return bool(settings.ALERTMANAGER_WEBHOOK_TOKEN) or bool(
        settings.ALERTMANAGER_WEBHOOK_USERNAME and settings.ALERTMANAGER_WEBHOOK_PASSWORD
    )


def request_authorized(authorization: str) -> bool:
    """The `Authorization` header carries the configured bearer token or basic-auth pair, compared in constant time
    (as bytes: a header with characters outside ASCII is simply wrong). Nothing configured: nobody is."""
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    token = settings.ALERTMANAGER_WEBHOOK_TOKEN
    if scheme.lower() == "bearer" and token:
        return hmac.compare_digest(credentials.encode("utf-8", "replace"), token.encode())
    username, password = settings.ALERTMANAGER_WEBHOOK_USERNAME, settings.ALERTMANAGER_WEBHOOK_PASSWORD
    if scheme.lower() == "basic" and username and password:
        try:
            given = base64.b64decode(credentials.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            return False
        return hmac.compare_digest(given, f"{username}:{password}".encode())
    return False


# -- what a delivery must be ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AlertIn:
    """One alert of a delivery, as read and checked."""

    fingerprint: str
    status: str
    starts_at: datetime
    ends_at: datetime | None  # None while firing (Alertmanager sends the zero time)
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str


@dataclass(frozen=True)
class Message:
    receiver: str
    status: str
    group_key: str
    alerts: list[AlertIn]


def message_read(body: bytes) -> Message:
    """The webhook message in `body`, or MalformedAlerts naming the first thing that is not as Alertmanager sends it."""
    try:
        payload = payload_parse(body)
    except MalformedDelivery as exc:
        raise MalformedAlerts(str(exc).replace("a GitHub payload", "an Alertmanager message")) from exc
    if problem := unstorable_text(payload):
        raise MalformedAlerts(problem)
    version = payload.get("version")
    if version != WEBHOOK_VERSION:
        raise MalformedAlerts(
            f"version is {version!r}: Trunkline reads Alertmanager's webhook message version {WEBHOOK_VERSION!r}"
        )
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise MalformedAlerts("alerts: a list of alerts is required")
    return Message(
        receiver=_text(payload, "receiver", "", required=False),
        status=_text(payload, "status", "", required=False),
        group_key=_text(payload, "groupKey", "", required=False),
        alerts=[_alert(item, f"alerts[{i}]") for i, item in enumerate(alerts)],
    )


def _text(data: dict[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise MalformedAlerts(
            f"{where}{key}: a string is required" + (f", got {type(value).__name__}" if value is not None else "")
        )
    return value


def _alert(item: Any, where: str) -> AlertIn:
    if not isinstance(item, dict):
        raise MalformedAlerts(f"{where}: an alert is a JSON object")
    missing = [name for name in ALERT_FIELDS if name not in item]
    if missing:
        raise MalformedAlerts(f"{where}: missing {', '.join(missing)}")
    status = item["status"]
    if status not in ("firing", "resolved"):
        raise MalformedAlerts(f"{where}.status: {status!r} is neither 'firing' nor 'resolved'")
    fingerprint = _text(item, "fingerprint", f"{where}.")
    if not FINGERPRINT.fullmatch(fingerprint):
        raise MalformedAlerts(f"{where}.fingerprint: {fingerprint[:70]!r} is not a hexadecimal fingerprint")
    starts_at = _time(item["startsAt"], f"{where}.startsAt")
    if starts_at is None:
        raise MalformedAlerts(f"{where}.startsAt: an alert has a start time")
    ends_at = _time(item["endsAt"], f"{where}.endsAt")
    if status == "resolved" and ends_at is None:
        raise MalformedAlerts(f"{where}.endsAt: a resolved alert has an end time")
    if ends_at is not None and ends_at < starts_at:
        raise MalformedAlerts(f"{where}.endsAt: before its startsAt")
    return AlertIn(
        fingerprint=fingerprint.lower(),
        status=status,
        starts_at=starts_at,
        ends_at=ends_at if status == "resolved" else None,
        labels=_strings(item["labels"], f"{where}.labels"),
        annotations=_strings(item["annotations"], f"{where}.annotations"),
        generator_url=_text(item, "generatorURL", f"{where}."),
    )


def _strings(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise MalformedAlerts(f"{where}: an object of strings is required")
    return value


def _time(value: Any, where: str) -> datetime | None:
    """An RFC 3339 time (Go's, to the nanosecond); None for Go's zero time, which means "not set"."""
    if not isinstance(value, str):
        raise MalformedAlerts(f"{where}: an RFC 3339 time is required")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or "T" not in value.upper():
        raise MalformedAlerts(f"{where}: {value[:40]!r} is not an RFC 3339 time (such as 2024-05-01T10:00:00Z)")
    return None if moment.year <= 1 else moment


# -- receiving ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Receipt:
    status: str  # queued | requeued | duplicate | refused
    delivery_id: int
    detail: str = ""


def alert_delivery_receive(*, body: bytes) -> Receipt:
    """Store an authenticated delivery and queue its processing on commit. A message that is not Alertmanager's is
    stored as refused with the reason and MalformedAlerts raised (the endpoint answers 400); the same bytes again are
    the same delivery."""
    digest = hashlib.sha256(body).hexdigest()
    try:
        message = message_read(body)
    except MalformedAlerts as exc:
        _store(digest, body, outcome=Outcome.REFUSED, error=str(exc))
        raise
    row = _store(digest, body, outcome=Outcome.PENDING, message=message)
    if row is None:
        return _received_again(digest)
    transaction.on_commit(lambda: alert_delivery_enqueue(row.pk))
    return Receipt("queued", row.pk, f"{len(message.alerts)} alert{'s' if len(message.alerts) != 1 else ''} queued")


def _store(
    digest: str, body: bytes, *, outcome: str, message: Message | None = None, error: str = ""
) -> AlertDelivery | None:
    now = timezone.now()
    row = AlertDelivery(
        body_sha256=digest,
        body=body,
        outcome=outcome,
        error=storable_text(error, 4000),
        receiver=storable_text(message.receiver, 200) if message else "",
        group_key=storable_text(message.group_key, 500) if message else "",
        status=storable_text(message.status, 20) if message else "",
        alert_count=len(message.alerts) if message else 0,
        queued_at=now if outcome == Outcome.PENDING else None,
        processed_at=now if outcome == Outcome.REFUSED else None,
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        return None
    return row


def _received_again(digest: str) -> Receipt:
    """The same bytes were stored before: a failed one with attempts left goes back to the queue (one conditional
    UPDATE); anything else is acknowledged and left alone, so a replay changes nothing."""
    existing = AlertDelivery.objects.filter(body_sha256=digest).values("pk", "outcome").first()
    if existing is None:  # deleted between the INSERT and this read: Alertmanager retries a 5xx
        raise MalformedAlerts("delivery conflict; please retry")
    if ALERT_DELIVERIES.requeue_failed(existing["pk"]):
        return Receipt("requeued", existing["pk"], "received before and failed: processing it again")
    return Receipt("duplicate", existing["pk"], f"already received ({existing['outcome']})")


ALERT_DELIVERIES = DeliveryQueue(AlertDelivery, ALERTS_RECEIVED)
"""Alertmanager's stored deliveries, queued, claimed, processed at most once and swept as GitHub's are."""


def alert_delivery_enqueue(delivery_id: int) -> bool:
    """Hand a stored delivery to the broker; if it is down, the row stays unqueued and the sweep queues it later."""
    return ALERT_DELIVERIES.enqueue(delivery_id)


def alert_delivery_process(*, delivery_id: int, on_read: Callable[[Message, int], str]) -> str:
    """Process one stored delivery at most once successfully; returns the outcome. `on_read(message, delivery_id)`
    (the flow: record the alerts, follow the incidents) runs in one transaction with the `processed` mark, conditional
    on this worker's claim, and returns what it did in words. Anything that goes wrong fails the delivery with the
    reason; a redelivery of the same bytes or the sweep (for a dead worker) takes it again, MAX_ATTEMPTS times."""
    return ALERT_DELIVERIES.process(
        delivery_id, lambda delivery: on_read(message_read(bytes(delivery.body)), delivery_id)
    )


def alert_deliveries_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """Queue what is stored and not processed: never queued (the broker was down), queued long ago and still pending
    (its message was lost), or claimed by a worker that stopped beating; a delivery taken up MAX_ATTEMPTS times is
    failed with the reason. Oldest first."""
    return ALERT_DELIVERIES.sweep(now=now, limit=limit)
