"""Webhook deliveries processed at most once, whoever sent them (GitHub, ClickUp): one `DeliveryQueue` per kind of
stored delivery (a model made from delivery.core.models.Delivery) and the Celery task, named, that processes one.

A delivery is stored before the sender is answered, and everything after that is recoverable from its row: the task
is queued on commit; if the broker cannot take it, a periodic sweep queues it later; a delivery is claimed with one
conditional UPDATE whose time is the claim's token, renewed by a heartbeat while a worker holds it, so two copies (a
duplicate, a redelivery, a sweep racing the first task) never process it twice, and a dead worker's claim is taken
up again once stale; the handler's writes and the outcome commit together, only while the claim is still this
worker's."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Manager, Q
from django.utils import timezone

from delivery.core.claims import ClaimHeartbeat
from delivery.core.models import Delivery
from delivery.core.payloads import storable_text
from delivery.core.queue import task_queue

logger = logging.getLogger(__name__)
Outcome = Delivery.Outcome

MAX_ATTEMPTS = 5
"""Claims of one delivery before it is marked failed (a payload that kills its worker every time)."""
BROKER_PAUSE_SECONDS = 30.0

_broker_down_until = 0.0


def broker_pause_reset() -> None:
    global _broker_down_until
    _broker_down_until = 0.0


def claim_stale() -> timedelta:
    """A claim whose heartbeat is this old belongs to a worker that died: the delivery may be claimed again. The
    worker renews it four times as often (WEBHOOK_CLAIM_STALE_SECONDS)."""
    return timedelta(seconds=settings.WEBHOOK_CLAIM_STALE_SECONDS)


def lost_message() -> timedelta:
    """A delivery queued this long ago and still pending lost its message: a worker that died had reserved it, or
    the broker restarted without persistence (WEBHOOK_LOST_MESSAGE_SECONDS). A message that was only slow to
    arrive is then processed by whichever copy comes first; the other finds it claimed."""
    return timedelta(seconds=settings.WEBHOOK_LOST_MESSAGE_SECONDS)


class DeliveryIgnored(Exception):
    """A delivery Trunkline does not act on (an event or object it does not follow): recorded as ignored."""


class _ClaimLost(Exception):
    """The delivery was reclaimed while this worker processed it: its writes are rolled back."""


@dataclass(frozen=True)
class DeliveryQueue:
    """The processing of one kind of stored delivery: `model` holds them, the Celery task named `task` processes one
    (it takes the row's id)."""

    model: type[Delivery]
    task: str

    @property
    def rows(self) -> Manager[Delivery]:
        return self.model._default_manager

    # -- queueing ----------------------------------------------------------------------------------------------
    def enqueue(self, delivery_id: int) -> bool:
        """Hand a stored delivery to the broker. If the broker is down the delivery stays stored with no
        `queued_at`, and the sweep queues it once the broker is back; the webhook's answer never waits. After a
        failure this process stops trying for a little while, so a dead broker costs one timeout, not one each."""
        global _broker_down_until
        if time.monotonic() >= _broker_down_until:
            if task_queue(self.task, delivery_id):
                return True
            _broker_down_until = time.monotonic() + BROKER_PAUSE_SECONDS
            logger.warning("%s %s stored but not queued; the sweep will queue it", self.model.__name__, delivery_id)
        self.rows.filter(pk=delivery_id, outcome=Outcome.PENDING).update(queued_at=None)
        return False

    def enqueue_on_commit(self, delivery_id: int) -> None:
        transaction.on_commit(lambda: self.enqueue(delivery_id))

    def requeue_failed(self, delivery_id: int) -> bool:
        """A failed delivery received again goes back to the queue while it has attempts left (one conditional
        UPDATE, so copies arriving at once requeue it once, and a burst of them at most MAX_ATTEMPTS times, as a
        dead worker's claim)."""
        requeued = self.rows.filter(pk=delivery_id, outcome=Outcome.FAILED, attempts__lt=MAX_ATTEMPTS).update(
            outcome=Outcome.PENDING, queued_at=timezone.now(), error=""
        )
        if requeued:
            self.enqueue_on_commit(delivery_id)
        return bool(requeued)

    # -- processing --------------------------------------------------------------------------------------------
    def claim(self, delivery_id: int, *, now: datetime | None = None) -> datetime | None:
        """Take a delivery for processing with one conditional UPDATE; returns the claim's time, which later writes
        must match (the claim's token), or None when it is done, failed, or another worker has it."""
        now = now or timezone.now()
        claimable = Q(outcome=Outcome.PENDING) | (self.stale_claims(now) & Q(attempts__lt=MAX_ATTEMPTS))
        taken = self.rows.filter(claimable, pk=delivery_id).update(
            outcome=Outcome.PROCESSING, processing_started_at=now, claim_heartbeat_at=now, attempts=F("attempts") + 1
        )
        return now if taken == 1 else None

    @staticmethod
    def stale_claims(now: datetime) -> Q:
        return Q(outcome=Outcome.PROCESSING, claim_heartbeat_at__lt=now - claim_stale())

    def heartbeat(self, delivery_id: int, claimed_at: datetime) -> ClaimHeartbeat:
        claim = self.rows.filter(pk=delivery_id, outcome=Outcome.PROCESSING, processing_started_at=claimed_at)
        return ClaimHeartbeat(claim, field="claim_heartbeat_at", every=claim_stale().total_seconds() / 4)

    def finish(
        self, delivery_id: int, claimed_at: datetime, outcome: str, *, result: str = "", error: str = ""
    ) -> bool:
        """Record the outcome, only while the claim is still this worker's."""
        return bool(
            self.rows.filter(pk=delivery_id, outcome=Outcome.PROCESSING, processing_started_at=claimed_at).update(
                outcome=outcome,
                processed_at=timezone.now(),
                result=storable_text(result, 500),
                error=storable_text(error, 4000),
            )
        )

    def process(self, delivery_id: int, apply: Callable[[Any], str]) -> str:
        """Claim the delivery and run `apply(delivery)` (its writes; it returns what it did in words) in one
        transaction with the `processed` mark, while the claim's heartbeat beats. Returns the outcome, or "skipped"
        when another worker has it or it is done. `apply` raising DeliveryIgnored records it ignored; anything else
        fails it with the reason (for the operator's page and a replay)."""
        claimed_at = self.claim(delivery_id)
        if claimed_at is None:
            return "skipped"
        with self.heartbeat(delivery_id, claimed_at):
            return self._apply(delivery_id, claimed_at, apply)

    def _apply(self, delivery_id: int, claimed_at: datetime, apply: Callable[[Any], str]) -> str:
        delivery = self.rows.get(pk=delivery_id)
        try:
            with transaction.atomic():
                result = apply(delivery)
                if not self.finish(delivery_id, claimed_at, Outcome.PROCESSED, result=result):
                    raise _ClaimLost
        except _ClaimLost:
            return "skipped"
        except DeliveryIgnored as exc:
            self.finish(delivery_id, claimed_at, Outcome.IGNORED, result=str(exc))
            return Outcome.IGNORED
        except Exception as exc:
            logger.exception("%s %s (%s) failed", self.model._meta.verbose_name, delivery_id, delivery)
            where = traceback.extract_tb(exc.__traceback__)[-1]
            error = f"{exc.__class__.__name__}: {exc} (at {where.filename.rsplit('/', 1)[-1]}:{where.lineno})"
            self.finish(delivery_id, claimed_at, Outcome.FAILED, error=error)
            return Outcome.FAILED
        return Outcome.PROCESSED

    # -- the sweep and replays ---------------------------------------------------------------------------------
    def sweep(self, *, now: datetime | None = None, limit: int = 500) -> int:
        """Queue stored-but-unprocessed deliveries: never queued (the broker was down), queued long ago and still
        pending, or stuck `processing` on a dead worker. Oldest first, so they are applied roughly in order."""
        now = now or timezone.now()
        due = (
            Q(outcome=Outcome.PENDING, queued_at__isnull=True)
            | Q(outcome=Outcome.PENDING, queued_at__lt=now - lost_message())
            | self.stale_claims(now)
        )
        self.rows.filter(self.stale_claims(now), attempts__gte=MAX_ATTEMPTS).update(
            outcome=Outcome.FAILED,
            processed_at=now,
            error=f"gave up after {MAX_ATTEMPTS} attempts: the worker stopped while processing it each time",
        )
        ids = list(self.rows.filter(due).order_by("received_at").values_list("pk", flat=True)[:limit])
        queued = 0
        broker_pause_reset()  # the sweep is how a paused process finds out the broker is back
        for pk in ids:
            self.rows.filter(pk=pk).update(queued_at=now)
            if not self.enqueue(pk):
                break  # the broker is still down: try again at the next sweep
            queued += 1
        return queued

    def replay(self, delivery_id: int, *, seen_attempts: int | None = None) -> bool:
        """Process a failed (or ignored) delivery again from its stored body — the operator's "replay". The page's
        button names the attempts it showed: replays from one page view reprocess it once, however many arrive."""
        replayable = self.rows.filter(pk=delivery_id, outcome__in=[Outcome.FAILED, Outcome.IGNORED])
        if seen_attempts is not None:
            replayable = replayable.filter(attempts=seen_attempts)
        replayed = replayable.update(outcome=Outcome.PENDING, queued_at=timezone.now(), error="")
        if replayed:
            self.enqueue_on_commit(delivery_id)
        return bool(replayed)
