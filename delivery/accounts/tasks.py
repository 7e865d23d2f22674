from __future__ import annotations

from celery import shared_task

from delivery.accounts.signin import members_sweep


@shared_task(ignore_result=True)
def members_sweep_task() -> int:
    """Beat: switch off the accounts of people who left the organization."""
    return members_sweep()
