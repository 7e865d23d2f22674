"""The rollback lists the pages show, read through the selectors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from delivery.monitoring.alert_models import Incident
from delivery.monitoring.models import MonitoringSession, WatchedRelease, WatchVerdict
from delivery.pipeline.models import Release
from delivery.rollbacks.models import Rollback
from delivery.rollbacks.selectors import (
    last_known_good,
    on_call_board,
    rollbacks_of_repository,
    rollbacks_recent,
    rollbacks_undoing,
)
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


def test_a_release_is_known_good_only_once_its_watch_is_done_with_no_incident_and_no_degraded_read() -> None:
    """A version still watched, one whose watch read degraded or one an alert fired on is not known good: going back
    to it could be going back to the trouble."""
    made = history(member("olga").developer, member("pete").developer)
    v10, live = made["v1.0"], made["v1.2"]

    def known_good() -> object:
        board = next(r for r in on_call_board(now=made["now"]) if r.repository.pk == made["repo"].pk)
        assert board.known_good == last_known_good(live)  # the page and the confirmation agree
        return last_known_good(live)

    for state in ("", "open"):
        Release.objects.filter(pk=v10.pk).update(watch_state=state)
        assert known_good() is None, state
    Release.objects.filter(pk=v10.pk).update(watch_state="done")
    assert known_good() == v10

    incident = Incident.objects.create(release=v10, title="5xx", started_at=made["now"])
    assert known_good() is None
    Incident.objects.filter(pk=incident.pk).update(dismissed_at=made["now"])
    assert known_good() == v10

    session = MonitoringSession.objects.create(
        release=v10, owner=made["v1.0"].owners.get(), window_starts_at=made["now"], window_ends_at=made["now"]
    )
    WatchedRelease.objects.create(session=session, release=v10, owner=session.owner, joined_at=made["now"])
    verdict = WatchVerdict.objects.create(session=session, verdict="healthy")
    assert known_good() == v10
    WatchVerdict.objects.filter(pk=verdict.pk).update(verdict="degraded")
    assert known_good() is None
    # Recovered since: it still read degraded once, so it is not known good.
    WatchVerdict.objects.filter(pk=verdict.pk).update(verdict="healthy", first_degraded_at=made["now"])
    assert known_good() is None
