"""Talking points say what their evidence shows: a count and the rows listed come from the same rows and the same
threshold; lists that go on end in words, not in punctuation."""

from __future__ import annotations

import pytest

from delivery.reports.snapshot import snapshot
from delivery.reports.weeks import IsoWeek
from tests.factories import DeveloperFactory
from tests.metrics.history import DAY, HOUR, History

pytestmark = pytest.mark.django_db
W45 = IsoWeek(2026, 45)


def _waits(h: History, hours: list[float]) -> list[int]:
    """Pull requests each first reviewed `hours` after they were opened, all in production by Friday."""
    ana, ben = DeveloperFactory(login="ana"), DeveloperFactory(login="ben")
    numbers = []
    for i, wait in enumerate(hours):
        opened = i * 10
        pr = h.merge(
            ana,
            opened=opened,
            merged=opened + wait * HOUR + 5,
            first_commit=opened - 5,
            reviews=((ben, opened + wait * HOUR),),
        )
        numbers.append(pr.number)
    h.deploy("production", len(hours), 4 * DAY)
    h.derive()
    return numbers


def test_the_prs_said_to_have_waited_more_than_a_day_are_the_ones_listed() -> None:
    h = History(owner="acme", name="api", full_name="acme/api")
    numbers = _waits(h, [30, 26, 23.6, 22, 19, 2])

    [point] = [p for p in snapshot(W45)["talking_points"] if p["rule"] == "pickup"]

    assert point["text"].startswith("Two PRs waited more than a day for a first review")
    assert [e["label"] for e in point["evidence"]] == [f"api#{numbers[0]}", f"api#{numbers[1]}"]


def test_a_list_cut_short_says_how_many_more_without_doubled_punctuation() -> None:
    h = History(owner="acme", name="api", full_name="acme/api")
    _waits(h, [30, 29, 28, 27, 26])

    [point] = [p for p in snapshot(W45)["talking_points"] if p["rule"] == "pickup"]

    assert "…" not in point["text"] and not point["text"].endswith("..")
    assert point["text"].startswith("Five PRs waited more than a day for a first review: ")
    assert point["text"].endswith(" and 2 more.")
