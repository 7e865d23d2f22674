"""What follows a verdict: keeping a degraded release asks for a reason, the sign-off keeps the verdict and its
evidence, on-call hears of a degraded watch its owner left alone; answers that are not Prometheus's are inconclusive
in words; one watch is read by one worker at a time."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from delivery.accounts.models import Developer
from delivery.accounts.oncall import override_add
from delivery.flows.watches import watch_signals_read, watch_signed_off, watches_kept_unattended
from delivery.github.models import Repository
from delivery.monitoring.models import MonitoringSession, SignalReading, WatchVerdict
from delivery.monitoring.services import WatchError, watch_item_check
from delivery.monitoring.verdicts import clock
from delivery.notifications.models import Notification
from delivery.notifications.service import WATCH_DEGRADED_ON_CALL, WATCH_DEGRADED_OWNER
from tests.conftest import member
from tests.monitoring.conftest import WatchMaker, queries
from tests.monitoring.prometheus_server import RealPrometheus
from tools.stand_in import StandIn

pytestmark = pytest.mark.django_db


def _tick_all(session: MonitoringSession) -> None:
    for item in session.items.exclude(key="decision"):
        watch_item_check(item=item, user=session.owner.user, checked=True, note="", now=session.window_ends_at)


def test_keeping_a_degraded_release_needs_a_reason_and_the_sign_off_keeps_the_verdict(
    prometheus: RealPrometheus, watch: WatchMaker, at_now: datetime
) -> None:
    session = watch(service="jump", prometheus_url=prometheus.url)
    watch_signals_read(now=at_now)
    _tick_all(session)
    later = session.window_ends_at + timedelta(minutes=1)
    with pytest.raises(WatchError, match=r"Production reads degraded since this release \(Error ratio: 8\.0 % since"):
        watch_signed_off(session=session, user=session.owner.user, decision="keep", notes="  ", now=later)
    session.refresh_from_db()
    assert session.signed_off_at is None
    watch_signed_off(session=session, user=session.owner.user, decision="keep", notes="A known spike", now=later)
    session.refresh_from_db()
    assert session.decision == "keep" and session.signed_off_verdict == "degraded"
    assert session.signed_off_evidence[0]["signal"] == "Error ratio"
    assert session.signed_off_evidence[0]["judgement"] == "degraded"
    # read no more: the verdict kept with the sign-off is the one the owner saw
    assert watch_signals_read(now=at_now + timedelta(minutes=1)) == 0


def test_fix_forward_needs_no_reason_and_a_healthy_keep_needs_none(
    prometheus: RealPrometheus, watch: WatchMaker, at_now: datetime
) -> None:
    session = watch(service="steady", prometheus_url=prometheus.url)
    watch_signals_read(now=at_now)
    _tick_all(session)
    watch_signed_off(session=session, user=session.owner.user, decision="keep", notes="", now=session.window_ends_at)
    session.refresh_from_db()
    assert session.signed_off_verdict == "healthy" and len(session.signed_off_evidence) == 2


def test_the_simulated_team_s_keep_stores_the_verdict_too(
    prometheus: RealPrometheus, watch: WatchMaker, at_now: datetime
) -> None:
    session = watch(service="jump", prometheus_url=prometheus.url)
    watch_signals_read(now=at_now)
    Developer.objects.filter(pk=session.owner_id).update(user=None)  # a simulated developer: no account
    watches_kept_unattended(session_ids=[session.pk], notes="team", now=session.window_ends_at)
    session.refresh_from_db()
    assert session.signed_off_at is not None and session.signed_off_verdict == "degraded"


def test_a_degraded_watch_its_owner_leaves_alone_tells_on_call_once_after_the_escalation_time(
    prometheus: RealPrometheus, watch: WatchMaker, at_now: datetime, settings: Any
) -> None:
    settings.MONITORING_ESCALATION_MINUTES = 15
    session = watch(service="jump", prometheus_url=prometheus.url)
    ops = member("ops", role="on-call").developer
    override_add(developer=ops, starts_at=at_now - timedelta(hours=1), ends_at=at_now + timedelta(days=1), actor=None)
    watch_signals_read(now=at_now)
    assert Notification.objects.filter(kind=WATCH_DEGRADED_OWNER).count() == 1
    watch_signals_read(now=at_now + timedelta(minutes=14))
    assert not Notification.objects.filter(kind=WATCH_DEGRADED_ON_CALL).exists()
    watch_signals_read(now=at_now + timedelta(minutes=15))
    watch_signals_read(now=at_now + timedelta(minutes=16))
    notice = Notification.objects.get(kind=WATCH_DEGRADED_ON_CALL)
    assert notice.text.startswith(":chart_with_downwards_trend: ops, production got worse after *acme/api v1.2.0* ")
    assert "(shipped by olga, who has not acted yet)" in notice.text
    assert WatchVerdict.objects.get(session=session).on_call_told_at == at_now + timedelta(minutes=15)


def test_an_owner_who_signed_off_spares_on_call(
    prometheus: RealPrometheus, watch: WatchMaker, at_now: datetime
) -> None:
    session = watch(service="jump", prometheus_url=prometheus.url)
    watch_signals_read(now=at_now)
    watch_signed_off(session=session, user=session.owner.user, decision="roll_back", notes="", now=at_now)
    watch_signals_read(now=at_now + timedelta(hours=1))
    assert not Notification.objects.filter(kind=WATCH_DEGRADED_ON_CALL).exists()


def test_a_watch_another_worker_reads_is_left_to_it(
    prometheus: RealPrometheus, watch: WatchMaker, at_now: datetime
) -> None:
    session = watch(service="steady", prometheus_url=prometheus.url)
    WatchVerdict.objects.create(session=session, reading_until=at_now + timedelta(minutes=1))
    assert watch_signals_read(now=at_now) == 0
    assert not SignalReading.objects.exists()
    assert watch_signals_read(now=at_now + timedelta(minutes=2)) == 1  # its lease ran out: the worker died


class _NotPrometheus(StandIn):
    """Answers every request with one status and body: what a proxy or a broken server might say."""

    def __init__(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        answer = (status, body, content_type)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(answer[0])
                self.send_header("Content-Type", answer[2])
                self.send_header("Content-Length", str(len(answer[1])))
                self.end_headers()
                self.wfile.write(answer[1])

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._listen("127.0.0.1", 0, Handler)


def _matrix(values: Any) -> bytes:
    return json.dumps(
        {"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": values}]}}
    ).encode()


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (502, b"<html>Bad Gateway</html>", "Prometheus answered 502 with a body that is not JSON"),
        (200, b"[1, 2]", "Prometheus answered 200 with something that is not a query's answer"),
        (200, b'{"status": "success", "data": {"resultType": "vector", "result": []}}', "not a range query's result"),
        (200, _matrix([[1, "0.1"], ["x"]]), "Prometheus's series has a point that is not [time, \"value\"]: ['x']"),
        (200, _matrix("nope"), "Prometheus's series has no values"),
        (503, b'{"status": "error", "errorType": "timeout", "error": "query timed out"}', "answered 503: timeout"),
        (401, b"Unauthorized", "Prometheus answered 401 with a body that is not JSON"),
        (403, b'{"status": "error"}', "Prometheus refused the request (403): check PROMETHEUS_BEARER_TOKEN"),
    ],
)
def test_an_answer_that_is_not_prometheus_s_is_inconclusive_in_words(
    watch: WatchMaker, status: int, body: bytes, words: str
) -> None:
    with _NotPrometheus(status, body) as server:
        session = watch(prometheus_url=server.url)
        watch_signals_read(now=timezone.now())
    reading = SignalReading.objects.get(session=session, signal="Error ratio")
    assert reading.judgement == "inconclusive" and reading.errors == 1
    assert words in reading.reason


def test_prometheus_is_sent_the_bearer_token_from_the_environment(watch: WatchMaker, settings: Any) -> None:
    settings.PROMETHEUS_BEARER_TOKEN = "s3cret"
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            body = _matrix([[1, "0.1"]])
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = StandIn()
    server._listen("127.0.0.1", 0, Handler)
    with server:
        watch(prometheus_url=server.url)
        watch_signals_read(now=timezone.now())
    assert seen and set(seen) == {"Bearer s3cret"}


def test_a_watch_that_read_degraded_and_recovered_keeps_when_and_the_page_says_so(
    prometheus: RealPrometheus, watch: WatchMaker, at_now: datetime
) -> None:
    session = watch(service="jump", prometheus_url=prometheus.url)
    watch_signals_read(now=at_now)
    degraded = WatchVerdict.objects.get(session=session)
    assert degraded.verdict == "degraded" and degraded.first_degraded_at == degraded.degraded_since
    assert degraded.first_degraded_at is not None and degraded.last_degraded_at == at_now
    assert [e["signal"] for e in degraded.degraded_evidence if e["judgement"] == "degraded"] == ["Error ratio"]
    Repository.objects.update(signal_queries=queries("steady"))  # production recovers
    for n in (1, 2):
        watch_signals_read(now=at_now + timedelta(minutes=n))
    recovered = WatchVerdict.objects.get(session=session)
    assert recovered.verdict == "healthy" and recovered.degraded_since is None
    assert recovered.first_degraded_at == degraded.first_degraded_at and recovered.last_degraded_at == at_now
    assert recovered.degraded_evidence == degraded.degraded_evidence  # kept from the first degraded read
    client = Client()
    client.force_login(session.owner.user)
    page = re.sub(r"<[^>]+>", "", client.get(reverse("watch", args=[session.pk])).content.decode())
    since, until = clock(degraded.first_degraded_at), clock(at_now)
    assert f"Read degraded from {since} to {until}, healthy since." in page
    Repository.objects.update(signal_queries=queries("jump"))  # worse again: the first moment stays
    watch_signals_read(now=at_now + timedelta(minutes=3))
    again = WatchVerdict.objects.get(session=session)
    assert again.verdict == "degraded" and again.first_degraded_at == degraded.first_degraded_at
    assert again.last_degraded_at == at_now + timedelta(minutes=3)
