"""The shared template filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from delivery.core.templatetags.trunkline import ago_text, duration, plus_minutes, slack_plain

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_ago_text_in_the_largest_whole_unit() -> None:
    assert ago_text(NOW - timedelta(seconds=20), NOW) == "just now"
    assert ago_text(NOW - timedelta(minutes=12, seconds=59), NOW) == "12 min ago"
    assert ago_text(NOW - timedelta(hours=3, minutes=59), NOW) == "3 h ago"
    assert ago_text(NOW - timedelta(days=5, hours=23), NOW) == "5 d ago"


def test_plus_minutes_and_duration() -> None:
    assert plus_minutes(NOW, 30) == NOW + timedelta(minutes=30)
    assert plus_minutes(None, 30) is None
    assert duration(timedelta(minutes=29, seconds=48)) == "29 min"


def test_slack_plain_reads_a_notice_without_slack_markup() -> None:
    text = ":rocket: *acme/api v1.2* is live. <https://t.example/releases/4/|Monitoring session> <https://x.example>"
    assert slack_plain(text) == "acme/api v1.2 is live. Monitoring session https://x.example"
