"""The worker's heartbeat: beat runs it every minute, and a worker writes one as soon as it is ready."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import worker_ready

from delivery.core.health import heartbeat_record


@shared_task(ignore_result=True)
def heartbeat_task() -> None:
    heartbeat_record()


@worker_ready.connect(dispatch_uid="trunkline-worker-ready-heartbeat")
def _worker_ready(sender: Any = None, **_: Any) -> None:
    heartbeat_record(detail=str(getattr(sender, "hostname", "") or ""))
