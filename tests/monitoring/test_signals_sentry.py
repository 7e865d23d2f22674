"""The watch reads Sentry's issues (the stand-in, a real HTTP server speaking the organization issues endpoint): a
new or regressed issue with more events than the repository allows degrades the watch, with its link; a refused
token, an unknown organization, the rate limit and outages are inconclusive in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from delivery.flows.watches import watch_signals_read
from delivery.monitoring.models import SignalReading, WatchVerdict
from tests.monitoring.conftest import DEPLOY, WatchMaker
from tools.sentry_server import Issue, SentryServer

pytestmark = pytest.mark.django_db
SENTRY = {"sentry_organization": "acme", "sentry_project": "4504", "sentry_issue_events": 10}


def _sentry_reading(session: object) -> SignalReading:
    return SignalReading.objects.get(session=session, signal="Sentry issues")


def _deployed(minutes: float) -> datetime:
    return datetime.fromtimestamp(DEPLOY, UTC) + timedelta(minutes=minutes)


def test_a_new_issue_with_more_events_than_allowed_degrades_the_watch_with_its_link(
    sentry_settings: SentryServer, watch: WatchMaker
) -> None:
    sentry = sentry_settings
    sentry.add_issue(Issue("KeyError: 'cart'", first_seen=_deployed(2), last_seen=_deployed(9), count=47))
    sentry.add_issue(Issue("Slow query", first_seen=_deployed(3), last_seen=_deployed(8), count=4))
    sentry.add_issue(Issue("Old and ongoing", _deployed(-600), _deployed(5), count=900, substatus="ongoing"))
    sentry.add_issue(Issue("On staging", _deployed(1), _deployed(5), count=90, environment="staging"))
    sentry.add_issue(Issue("Resolved", _deployed(1), _deployed(5), count=90, status="resolved"))
    session = watch(**SENTRY)
    watch_signals_read()
    reading = _sentry_reading(session)
    assert reading.judgement == "degraded" and reading.source == "sentry"
    assert reading.degraded_since == _deployed(2)
    assert "1 issue with more than 10 events since" in reading.reason
    assert "(2 new, 0 regressed since the deploy); the worst: KeyError: 'cart' (47 events)" in reading.reason
    assert [(i["title"], i["count"], i["kind"]) for i in reading.issues] == [
        ("KeyError: 'cart'", 47, "new"),
        ("Slow query", 4, "new"),
    ]
    assert reading.issues[0]["url"].startswith(f"{sentry.url}/organizations/acme/issues/")
    assert WatchVerdict.objects.get(session=session).verdict == "degraded"
    asked = sentry.requests[-1]
    assert asked["path"] == "/api/0/organizations/acme/issues/"
    assert asked["project"] == ["4504"] and asked["environment"] == ["production"]
    assert asked["query"] == ["is:unresolved"] and asked["statsPeriod"][0].endswith("m")


def test_a_regressed_issue_counts_and_quiet_new_issues_are_healthy(
    sentry_settings: SentryServer, watch: WatchMaker
) -> None:
    sentry_settings.add_issue(Issue("Came back", _deployed(-900), _deployed(4), count=8, substatus="regressed"))
    sentry_settings.add_issue(Issue("A blip", first_seen=_deployed(2), last_seen=_deployed(2), count=2))
    session = watch(**SENTRY)
    watch_signals_read()
    reading = _sentry_reading(session)
    assert reading.judgement == "healthy"
    assert reading.reason == "No new or regressed issue with more than 10 events (1 new, 1 regressed since the deploy)"
    assert {i["kind"] for i in reading.issues} == {"new", "regressed"}
    session.release.repository.__class__.objects.update(sentry_issue_events=5)
    watch_signals_read(now=datetime.now(UTC) + timedelta(seconds=1))
    assert _sentry_reading(session).judgement == "degraded"  # 8 events > 5


def test_the_sentry_environment_setting_is_asked_for(sentry_settings: SentryServer, watch: WatchMaker) -> None:
    watch(**SENTRY, sentry_environment="prod-eu")
    watch_signals_read()
    assert sentry_settings.requests[-1]["environment"] == ["prod-eu"]


@pytest.mark.parametrize(
    ("switch", "words"),
    [
        ("refuse_token", "Sentry refused the token (401): Invalid token: check SENTRY_TOKEN"),
        ("rate_limit", "Sentry's rate limit is spent (429); read again at the next beat (reset "),
        ("outage", "Sentry answered 503: it is having trouble; read again at the next beat"),
        ("unknown_organization", "Sentry knows no organization nobody (404): The requested resource does not exist"),
        ("unknown_project", "Sentry's token may not read organization acme's issues (403)"),
    ],
)
def test_sentry_refusing_or_down_is_inconclusive_in_words(
    sentry_settings: SentryServer, watch: WatchMaker, switch: str, words: str
) -> None:
    settings = dict(SENTRY)
    if switch == "refuse_token":
        sentry_settings.refuse_token()
    elif switch == "rate_limit":
        sentry_settings.rate_limit_next()
    elif switch == "outage":
        sentry_settings.fail_next(status=503)
    elif switch == "unknown_organization":
        settings["sentry_organization"] = "nobody"
    else:
        settings["sentry_project"] = "999"
    session = watch(**settings)
    watch_signals_read()
    reading = _sentry_reading(session)
    assert reading.judgement == "inconclusive" and reading.errors == 1
    assert reading.reason.startswith(words)
    assert WatchVerdict.objects.get(session=session).verdict == "inconclusive"


def test_without_a_sentry_token_the_signal_says_so(watch: WatchMaker) -> None:
    session = watch(**SENTRY)
    watch_signals_read()
    assert _sentry_reading(session).reason == "SENTRY_TOKEN is not set: Trunkline cannot read Sentry"


def test_a_rate_limited_read_keeps_the_judgement_before_it(sentry_settings: SentryServer, watch: WatchMaker) -> None:
    session = watch(**SENTRY)
    watch_signals_read()
    assert _sentry_reading(session).judgement == "healthy"
    sentry_settings.rate_limit_next()
    watch_signals_read(now=datetime.now(UTC) + timedelta(seconds=1))
    reading = _sentry_reading(session)
    assert reading.judgement == "healthy" and reading.errors == 1 and reading.last_error.startswith("Sentry's rate")
    watch_signals_read(now=datetime.now(UTC) + timedelta(seconds=2))
    assert _sentry_reading(session).errors == 0  # read again: the count starts over
