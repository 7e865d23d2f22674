"""The rollback lists the pages show, read through the selectors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from delivery.rollbacks.models import Rollback
from delivery.rollbacks.selectors import rollbacks_of_repository, rollbacks_recent, rollbacks_undoing
from tests.conftest import member
from tests.factories import RepositoryFactory
from tests.rollbacks.helpers import history, rollback_row

pytestmark = pytest.mark.django_db


def test_recent_rollbacks_are_those_in_flight_and_those_of_the_last_day_of_one_repository_if_asked() -> None:
    made = history(member("olga").developer, member("pete").developer)
    now = timezone.now()
    old_done = rollback_row(made, state="succeeded", idempotency_key="old-done")
    old_in_flight = rollback_row(made, state="deploying", idempotency_key="old-in-flight")
    today = rollback_row(made, state="failed", idempotency_key="today")
    Rollback.objects.filter(pk__in=[old_done.pk, old_in_flight.pk]).update(requested_at=now - timedelta(days=3))

    recent = rollbacks_recent(now=now, within=timedelta(hours=24))
    assert [r.pk for r in recent] == [today.pk, old_in_flight.pk]
    assert rollbacks_recent(now=now, within=timedelta(hours=24), limit=1) == [today]
    assert rollbacks_recent(now=now, within=timedelta(hours=24), repository_full_name="acme/api") == recent
    assert rollbacks_recent(now=now, within=timedelta(hours=24), repository_full_name="acme/other") == []


def test_a_release_lists_the_rollbacks_that_undid_it_and_a_repository_its_latest() -> None:
    made = history(member("olga").developer, member("pete").developer)
    first = rollback_row(made, state="failed", idempotency_key="first")
    second = rollback_row(made, state="succeeded", idempotency_key="second", from_release=made["v1.1"])
    Rollback.objects.filter(pk=first.pk).update(requested_at=timezone.now() - timedelta(hours=1))

    assert rollbacks_undoing(release=made["v1.2"]) == [first]
    assert rollbacks_undoing(release=made["v1.0"]) == []
    assert rollbacks_of_repository(repository=made["repo"]) == [second, first]
    assert rollbacks_of_repository(repository=made["repo"], limit=1) == [second]
    assert rollbacks_of_repository(repository=RepositoryFactory(name="web", full_name="acme/web")) == []
