"""What /healthz checks: the database answers, the broker takes a connection, a worker beat recently."""

from __future__ import annotations

import logging
import socket
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone

from delivery.core.models import Heartbeat

logger = logging.getLogger(__name__)
WORKER = "worker"


def heartbeat_record(name: str = WORKER, detail: str = "") -> None:
    Heartbeat.objects.update_or_create(
        name=name, defaults={"at": timezone.now(), "detail": (detail or socket.gethostname())[:200]}
    )


def database_check() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        logger.exception("health check: database")
        return "failing"
    return "ok"


def broker_check() -> str:
    from delivery.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT)
    except Exception:
        logger.exception("health check: broker")
        return "failing"
    return "ok"


def worker_check(now: datetime | None = None) -> tuple[str, float | None]:
    """("ok" | "stale" | "never", seconds since the last heartbeat)."""
    try:
        at = Heartbeat.objects.filter(name=WORKER).values_list("at", flat=True).first()
    except Exception:  # noqa: BLE001 - the database check reports this
        return "failing", None
    if at is None:
        return "never", None
    age = ((now or timezone.now()) - at).total_seconds()
    return ("ok" if age <= settings.HEALTHZ_WORKER_MAX_AGE_SECONDS else "stale"), round(age, 1)
