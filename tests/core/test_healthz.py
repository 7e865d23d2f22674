"""/healthz: the database, the broker and a recent worker heartbeat; open to load balancers, no secrets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from delivery.core.models import Heartbeat
from tests.conftest import wait_for


@pytest.mark.django_db
def test_healthy_when_the_database_and_broker_answer_and_the_worker_beat_recently(
    anonymous_client: Any, settings: Any
) -> None:
    Heartbeat.objects.create(name="worker", at=timezone.now() - timedelta(seconds=30))
    response = anonymous_client.get(reverse("healthz"))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["checks"] == {"database": "ok", "broker": "ok", "worker": "ok"} and body["status"] == "ok"
    assert settings.SECRET_KEY not in response.content.decode()
    assert "redis://" not in response.content.decode() and "postgres" not in response.content.decode()


@pytest.mark.django_db
def test_a_stale_or_missing_heartbeat_is_failing(anonymous_client: Any, settings: Any) -> None:
    response = anonymous_client.get(reverse("healthz"))
    assert response.status_code == 503 and response.json()["checks"]["worker"] == "never"
    Heartbeat.objects.create(
        name="worker", at=timezone.now() - timedelta(seconds=settings.HEALTHZ_WORKER_MAX_AGE_SECONDS + 5)
    )
    response = anonymous_client.get(reverse("healthz"))
    assert response.status_code == 503 and response.json()["checks"]["worker"] == "stale"


@pytest.mark.django_db
def test_a_broker_that_does_not_answer_is_failing(anonymous_client: Any, settings: Any) -> None:
    from delivery.celery import app

    Heartbeat.objects.create(name="worker", at=timezone.now())
    previous = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = anonymous_client.get(reverse("healthz"))
    finally:
        app.conf.broker_url = previous
    assert response.status_code == 503 and response.json()["checks"]["broker"] == "failing"


@pytest.mark.worker
def test_a_real_worker_beats_on_start_and_on_the_heartbeat_task(celery_worker: Any, anonymous_client: Any) -> None:
    from delivery.core.tasks import heartbeat_task

    first = wait_for(lambda: Heartbeat.objects.filter(name="worker").first(), what="the worker's first heartbeat")
    assert anonymous_client.get(reverse("healthz")).json()["checks"]["worker"] == "ok"
    heartbeat_task.delay()
    wait_for(
        lambda: Heartbeat.objects.get(name="worker").at > first.at,
        what="the heartbeat task to run on the worker",
    )
