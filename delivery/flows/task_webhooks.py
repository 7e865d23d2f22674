"""ClickUp's webhook deliveries, once stored (delivery.clickup.webhooks): what follows each, in order."""

from __future__ import annotations

import json
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from delivery.clickup.client import configured
from delivery.clickup.models import ClickUpDelivery
from delivery.clickup.services import history_items, status_changes_record
from delivery.clickup.webhooks import QUEUE
from delivery.core.payloads import unstorable_text
from delivery.core.queue import task_queue
from delivery.flows.requests import READ_TASK
from delivery.pipeline.task_links import task_links_deliver


def clickup_delivery_processed(*, delivery_id: int, now: datetime | None = None) -> str:
    """At most once (the delivery is claimed): 1. keep the task's status moves (when it moved to "in progress", for
    the lead time from the task's start, whether or not a change names it yet); 2. show what the delivery says on the
    links of its task (a status, a name, an assignee; deleted: not found); 3. once that commits, read the task from
    ClickUp again for what a delivery does not carry (its checklists, its description's criteria). Returns the
    outcome."""
    now = now or timezone.now()

    def apply(delivery: ClickUpDelivery) -> str:
        payload = json.loads(bytes(delivery.body))
        if problem := unstorable_text(payload):
            raise ValueError(f"malformed payload: {problem}")
        items = history_items(payload)
        status_changes_record(task_id=delivery.task_id, items=items)
        done = task_links_deliver(event=delivery.event, task_id=delivery.task_id, items=items, now=now)
        if done.read_again and configured():
            transaction.on_commit(lambda: task_queue(READ_TASK, delivery.task_id))
        return done.result

    return QUEUE.process(delivery_id, apply)


def clickup_deliveries_swept() -> int:
    """Beat: stored deliveries the broker could not take, or whose worker died, queued again."""
    return QUEUE.sweep()
