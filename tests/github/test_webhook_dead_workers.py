"""Deliveries of a worker that died are taken up again through the database within two minutes of a worker being
up: a claim carries a heartbeat (a slow worker keeps its claim, a dead one loses it in WEBHOOK_CLAIM_STALE_SECONDS),
a message a dead worker had reserved is queued again after WEBHOOK_LOST_MESSAGE_SECONDS, and beat sweeps for both
every WEBHOOK_SWEEP_SECONDS. (They waited 10 and 15 minutes; 16 minutes of lag were measured after a worker kill.)"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection, connections, transaction
from django.test import Client
from django.utils import timezone

from delivery.celery import app as celery_app
from delivery.core.models import Heartbeat
from delivery.github.models import Deployment, Repository, WebhookDelivery
from delivery.github.tasks import sweep_webhook_deliveries_task
from delivery.github.webhooks import deliveries_sweep, delivery_claim, delivery_process
from delivery.simulator.server import SimulatorServer
from tests.conftest import wait_for, worker_start, worker_stop
from tests.github.webhook_helpers import example, post_delivery

Outcome = WebhookDelivery.Outcome
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's table locks")


def test_the_recovery_windows_fit_in_two_minutes() -> None:
    """A dead worker's claim is stale and swept, a reserved message is lost and swept, each within 2 minutes."""
    sweep = django_settings.CELERY_BEAT_SCHEDULE["sweep-webhook-deliveries"]["schedule"]
    assert sweep == timedelta(seconds=django_settings.WEBHOOK_SWEEP_SECONDS)
    assert timedelta(seconds=django_settings.WEBHOOK_CLAIM_STALE_SECONDS) + sweep <= timedelta(minutes=2)
    assert timedelta(seconds=django_settings.WEBHOOK_LOST_MESSAGE_SECONDS) + sweep <= timedelta(minutes=2)


@pytest.mark.django_db
def test_a_pending_delivery_whose_message_was_lost_is_queued_again_after_a_minute(client: Any) -> None:
    post_delivery(client, "pull_request", example("pull_request", "opened.payload.json"), guid="lost")
    queued_at = WebhookDelivery.objects.get(guid="lost").queued_at
    lost_after = timedelta(seconds=django_settings.WEBHOOK_LOST_MESSAGE_SECONDS)
    assert deliveries_sweep(now=queued_at + lost_after - timedelta(seconds=1)) == 0  # may still be on its way
    assert deliveries_sweep(now=queued_at + lost_after + timedelta(seconds=1)) == 1
    assert WebhookDelivery.objects.get(guid="lost").queued_at == queued_at + lost_after + timedelta(seconds=1)


@pytest.mark.django_db
def test_a_claim_is_stale_when_its_heartbeat_stops_not_when_it_started(client: Any) -> None:
    post_delivery(client, "pull_request", example("pull_request", "opened.payload.json"), guid="beating")
    delivery = WebhookDelivery.objects.get(guid="beating")
    stale = timedelta(seconds=django_settings.WEBHOOK_CLAIM_STALE_SECONDS)
    claimed_at = delivery_claim(delivery.pk, now=timezone.now() - 10 * stale)  # started long ago ...
    WebhookDelivery.objects.filter(pk=delivery.pk).update(claim_heartbeat_at=timezone.now())  # ... still beating
    assert delivery_claim(delivery.pk) is None and deliveries_sweep() == 0
    WebhookDelivery.objects.filter(pk=delivery.pk).update(claim_heartbeat_at=timezone.now() - stale)  # stopped
    assert delivery_claim(delivery.pk) not in (None, claimed_at)


class _DeploymentsLocked:
    """Holds a lock on the deployments table from a connection of its own, so a deployment delivery's handler waits
    on it (as a slow database would make it), until released."""

    def __init__(self) -> None:
        self._locked, self._release = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {Deployment._meta.db_table} IN ACCESS EXCLUSIVE MODE")
                self._locked.set()
                self._release.wait(120)
        finally:
            connections.close_all()

    def __enter__(self) -> _DeploymentsLocked:
        self._thread.start()
        assert self._locked.wait(30)
        return self

    def release(self) -> None:
        self._release.set()
        self._thread.join(30)

    def __exit__(self, *_: object) -> None:
        self.release()


def _deployment_status_of(repository_github_id: int) -> dict[str, Any]:
    """A deployment status of a followed repository (no new repository, so nothing but the delivery to do)."""
    payload = example("deployment_status", "payload.json")
    payload["repository"].update(id=repository_github_id, full_name="acme/dead-workers", name="dead-workers")
    payload["repository"]["owner"]["login"] = "acme"
    Repository.objects.create(
        github_id=repository_github_id, owner="acme", name="dead-workers", full_name="acme/dead-workers"
    )
    return payload


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_slow_worker_keeps_its_claim_by_its_heartbeat(settings: Any) -> None:
    settings.GITHUB_ORG = settings.GITHUB_TOKEN = ""
    settings.WEBHOOK_CLAIM_STALE_SECONDS = 2  # a heartbeat every half second
    payload = _deployment_status_of(71_001)
    post_delivery(Client(), "deployment_status", payload, guid="slow")
    delivery = WebhookDelivery.objects.get(guid="slow")
    outcome: list[str] = []
    with _DeploymentsLocked() as lock:
        worker = threading.Thread(
            target=lambda: (outcome.append(delivery_process(delivery_id=delivery.pk)), connections.close_all())
        )
        worker.start()
        time.sleep(5)  # over twice the stale time, its writes waiting on the lock
        delivery.refresh_from_db()
        assert delivery.outcome == Outcome.PROCESSING
        assert timezone.now() - delivery.claim_heartbeat_at < timedelta(seconds=1.5)
        assert delivery_claim(delivery.pk) is None and deliveries_sweep() == 0  # alive: not taken over
        lock.release()
        worker.join(30)
    delivery.refresh_from_db()
    assert outcome == [Outcome.PROCESSED] and (delivery.outcome, delivery.attempts) == (Outcome.PROCESSED, 1)


@on_postgresql
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_delivery_whose_worker_was_killed_is_processed_soon_after_a_new_worker_starts(
    github: SimulatorServer, settings: Any
) -> None:
    """Real workers: the first is killed (SIGKILL) while its handler waits; a new one takes the delivery up once the
    dead claim's heartbeat is stale (3 s here, 60 s by default), the sweep queued by beat (here, every second)."""
    stale = 3
    settings.WEBHOOK_CLAIM_STALE_SECONDS = stale
    knobs = {"WEBHOOK_CLAIM_STALE_SECONDS": str(stale)}
    payload = _deployment_status_of(71_002)
    queue = f"test-{uuid.uuid4().hex[:12]}"
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    workers = []
    try:
        with _DeploymentsLocked() as lock:
            workers.append(worker_start(queue, github, env=knobs))
            post_delivery(Client(), "deployment_status", payload, guid="killed")
            delivery = WebhookDelivery.objects.get(guid="killed")
            wait_for(
                lambda: WebhookDelivery.objects.get(pk=delivery.pk).outcome == Outcome.PROCESSING,
                what="the first worker to claim the delivery",
            )
            time.sleep(1)
            workers[0].kill()  # mid-delivery, its transaction open
            workers[0].wait(30)
            lock.release()
        dead_beat = WebhookDelivery.objects.get(pk=delivery.pk).claim_heartbeat_at
        Heartbeat.objects.filter(name="worker").delete()
        workers.append(worker_start(queue, github, env=knobs))
        started = wait_for(lambda: Heartbeat.objects.filter(name="worker").first(), what="the new worker").at

        def processed() -> bool:
            sweep_webhook_deliveries_task.delay()  # what beat sends every WEBHOOK_SWEEP_SECONDS
            return WebhookDelivery.objects.get(pk=delivery.pk).outcome == Outcome.PROCESSED

        wait_for(processed, timeout=60, interval=1, what="the new worker to process the delivery")
        delivery.refresh_from_db()
        assert delivery.attempts == 2
        assert delivery.processed_at - max(started, dead_beat) < timedelta(seconds=stale + 15)
    finally:
        for worker in workers:
            worker_stop(worker)
        celery_app.conf.task_default_queue = previous_queue
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
