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


def test_a_notice_on_a_page_keeps_its_links_as_links_and_is_cut_at_a_word() -> None:
    from delivery.core.templatetags.trunkline import slack_html

    done = (
        ":rocket: *acme/api v2.8* is in production since 18:14 UTC. Owners: olga — watch it for 30 minutes and sign "
        "off. </releases/12/|The release and its watches>"
    )
    assert slack_html(done) == (
        "acme/api v2.8 is in production since 18:14 UTC. Owners: olga — watch it for 30 minutes and sign off. "
        '<a href="/releases/12/">The release and its watches</a>'
    )
    plain = "Rollback failed: acme/web to v3.1 (" + "the deployment of v3.1 ended in failure, " * 5 + ")."
    html = slack_html(plain.replace("acme/web", "*acme/web*") + " <https://t.example/rollbacks/2/|Rollback>")
    assert html.endswith('… <a href="https://t.example/rollbacks/2/">Rollback</a>'), html
    words = html.split("…")[0]
    assert len(words) + len("Rollback") <= 160 and plain.startswith(words)
    assert plain[len(words)] in " ,", (words, plain[len(words) :])  # cut between words, not inside one
    sneaky = slack_html("<javascript:alert(1)|click> <b>x</b> &lt;script&gt;")
    assert "href" not in sneaky and "<b>" not in sneaky and "<script>" not in sneaky and "click" in sneaky
