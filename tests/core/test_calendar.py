"""The working calendar: working seconds across evenings, weekends and a change of the clocks."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from delivery.core.calendar import CalendarError, parse_calendar, working_calendar, working_seconds

PARIS = ZoneInfo("Europe/Paris")
H = 3600.0
WEEKDAYS = parse_calendar("1-5", "9-17", "Europe/Paris")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def test_inside_one_working_day():
    assert working_seconds(paris(2026, 11, 2, 10), paris(2026, 11, 2, 12, 30), WEEKDAYS) == 2.5 * H


def test_an_evening_and_a_night_count_nothing():
    # Monday 16:00 to Tuesday 10:00: one hour on Monday, one on Tuesday
    assert working_seconds(paris(2026, 11, 2, 16), paris(2026, 11, 3, 10), WEEKDAYS) == 2 * H
    assert working_seconds(paris(2026, 11, 2, 18), paris(2026, 11, 3, 8, 59), WEEKDAYS) == 0


def test_a_weekend_counts_nothing():
    # Friday 15:00 to Monday 11:00: Friday's last two hours and Monday's first two
    assert working_seconds(paris(2026, 11, 6, 15), paris(2026, 11, 9, 11), WEEKDAYS) == 4 * H
    assert working_seconds(paris(2026, 11, 7, 10), paris(2026, 11, 8, 20), WEEKDAYS) == 0


def test_a_whole_week():
    assert working_seconds(paris(2026, 11, 2), paris(2026, 11, 9), WEEKDAYS) == 40 * H


def test_moments_in_another_zone_are_the_same_moments():
    utc = ZoneInfo("UTC")
    # 08:00 UTC is 09:00 in Paris in November
    assert working_seconds(datetime(2026, 11, 2, 8, tzinfo=utc), datetime(2026, 11, 2, 9, tzinfo=utc), WEEKDAYS) == H


def test_the_days_the_clocks_change_still_have_their_working_hours():
    # Paris: summer time starts Sunday 29 March 2026, ends Sunday 25 October 2026
    every_day = parse_calendar("1-7", "9-17", "Europe/Paris")
    assert working_seconds(paris(2026, 3, 28, 12), paris(2026, 3, 30, 12), every_day) == 16 * H
    assert working_seconds(paris(2026, 10, 24, 12), paris(2026, 10, 26, 12), every_day) == 16 * H
    # A whole day counts its real hours: 23 on the spring day, 25 on the autumn one
    all_day = parse_calendar("1-7", "0-24", "Europe/Paris")
    assert working_seconds(paris(2026, 3, 29), paris(2026, 3, 30), all_day) == 23 * H
    assert working_seconds(paris(2026, 10, 25), paris(2026, 10, 26), all_day) == 25 * H


def test_backwards_is_nothing():
    assert working_seconds(paris(2026, 11, 3, 12), paris(2026, 11, 2, 12), WEEKDAYS) == 0


def test_the_settings(settings):
    settings.WORK_DAYS, settings.WORK_HOURS, settings.TIME_ZONE = "1,2,3", "10-12", "Europe/Paris"
    calendar = working_calendar()
    assert calendar.days == {1, 2, 3} and calendar.hours_a_day == 2
    assert calendar.describe() == "Mon to Wed 10:00 to 12:00 (Europe/Paris)"
    assert working_seconds(paris(2026, 11, 2, 0), paris(2026, 11, 9, 0)) == 6 * H


@pytest.mark.parametrize(("days", "hours"), [("mon-fri", "9-17"), ("0-5", "9-17"), ("1-5", "17-9"), ("1-5", "9")])
def test_settings_that_cannot_work_are_refused_in_words(days, hours):
    with pytest.raises(CalendarError, match="WORK_"):
        parse_calendar(days, hours, "UTC")
