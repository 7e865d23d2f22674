"""The Alertmanager webhook endpoint: who may post, what a delivery must be (refused in words, and kept), its size,
and that the same delivery twice, or a late copy of an older one, changes nothing."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from delivery.flows.incidents import alerts_received
from delivery.monitoring.alertmanager import MAX_BODY_BYTES, alert_deliveries_sweep
from delivery.monitoring.models import Alert, AlertDelivery
from tests.monitoring.alerting import GO_ZERO_TIME, TOKEN, alert, deliver, message, post

pytestmark = pytest.mark.django_db
LABELS = {"alertname": "HighErrorRate", "service": "billing", "env": "production", "severity": "page"}


def _firing() -> dict[str, Any]:
    return message(alert(LABELS, starts_at=timezone.now() - timedelta(minutes=3), summary="5xx above 2 %"))


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_without_configured_credentials_every_delivery_is_refused(settings: Any) -> None:
    settings.ALERTMANAGER_WEBHOOK_TOKEN = ""
    for headers in (
        {},
        {"Authorization": f"Bearer {TOKEN}"},
        {"Authorization": "Bearer "},
        {"Authorization": _basic("", "")},
    ):
        answer = post(_firing(), token="", **headers)
        assert answer.status_code == 401
        assert "ALERTMANAGER_WEBHOOK_TOKEN" in answer.json()["message"]
    assert not AlertDelivery.objects.exists()


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer wrong",
        f"Bearer {TOKEN}x",
        f"bearer{TOKEN}",
        f"Token {TOKEN}",
        _basic("alertmanager", TOKEN),
        "Bearer é",
    ],
)
def test_a_missing_or_wrong_token_gets_401(authorization: str) -> None:
    answer = post(_firing(), token="", **({"Authorization": authorization} if authorization else {}))
    assert answer.status_code == 401
    assert answer["WWW-Authenticate"].startswith("Bearer")
    assert not AlertDelivery.objects.exists()


def test_the_configured_bearer_token_is_let_in() -> None:
    answer = post(_firing(), **{"Authorization": f"bearer  {TOKEN}"})  # scheme case and spacing as HTTP allows
    assert answer.status_code == 202, answer.content
    assert answer.json()["status"] == "queued"
    assert AlertDelivery.objects.get().outcome == AlertDelivery.Outcome.PENDING


def test_basic_auth_is_let_in_when_configured_and_the_token_stays_valid(settings: Any) -> None:
    settings.ALERTMANAGER_WEBHOOK_USERNAME, settings.ALERTMANAGER_WEBHOOK_PASSWORD = "alertmanager", "s3cret:pw"
    assert post(_firing(), token="", Authorization=_basic("alertmanager", "s3cret:pw")).status_code == 202
    assert post(_firing(), token="", Authorization=_basic("alertmanager", "s3cret")).status_code == 401
    assert post(_firing(), token="", Authorization="Basic not-base64!").status_code == 401
    assert post(_firing(), token="", Authorization=_basic("other", "s3cret:pw")).status_code == 401
    settings.ALERTMANAGER_WEBHOOK_TOKEN = ""  # basic only: a bearer token is no credential
    assert post(_firing(), token=TOKEN).status_code == 401


def _without(field: str) -> dict[str, Any]:
    body = _firing()
    del body["alerts"][0][field]
    return body


def _with(**fields: Any) -> dict[str, Any]:
    body = _firing()
    body["alerts"][0].update(fields)
    return body


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a JSON object"),
        ({**_firing(), "version": "3"}, "version is '3'"),
        ({**_firing(), "version": 4}, "version is 4"),
        ({k: v for k, v in _firing().items() if k != "alerts"}, "alerts: a list"),
        ({**_firing(), "alerts": [42]}, "alerts[0]: an alert is a JSON object"),
        (_without("startsAt"), "alerts[0]: missing startsAt"),
        (_without("fingerprint"), "alerts[0]: missing fingerprint"),
        (_with(status="pending"), "alerts[0].status: 'pending' is neither"),
        (_with(startsAt="yesterday"), "alerts[0].startsAt: 'yesterday' is not an RFC 3339 time"),
        (_with(startsAt="2026-05-01"), "not an RFC 3339 time"),
        (_with(startsAt="2026-05-01T10:00:00"), "not an RFC 3339 time"),  # no offset
        (_with(startsAt=GO_ZERO_TIME), "an alert has a start time"),
        (_with(status="resolved"), "a resolved alert has an end time"),
        (_with(endsAt="2000-01-01T00:00:00Z", status="resolved"), "before its startsAt"),
        (_with(labels={"service": 3}), "alerts[0].labels: an object of strings"),
        (_with(annotations=[]), "alerts[0].annotations: an object of strings"),
        (_with(fingerprint="not-hex!"), "is not a hexadecimal fingerprint"),
        (_with(generatorURL=None), "alerts[0].generatorURL: a string is required"),
        (_with(labels={"service": "bill\u0000ing"}), "holds a NUL character"),
        (b'{"version": "4", "alerts": ' + b"[" * 100 + b"]" * 100 + b"}", "nested deeper than 64 levels"),
    ],
)
def test_what_is_not_alertmanager_s_message_gets_400_in_words_and_is_kept(body: Any, words: str) -> None:
    answer = post(body)
    assert answer.status_code == 400
    assert words in answer.json()["message"], answer.json()
    refused = AlertDelivery.objects.get()  # nothing lost: an admin reads it with the reason
    assert refused.outcome == AlertDelivery.Outcome.REFUSED and words in refused.error
    assert post(body).status_code == 400  # the same again: still refused, stored once
    assert AlertDelivery.objects.count() == 1
    assert not Alert.objects.exists()


def test_a_body_over_the_limit_gets_413(settings: Any) -> None:
    big = json.dumps({**_firing(), "padding": "x" * MAX_BODY_BYTES}).encode()
    assert post(big).status_code == 413
    declared = Client().generic(
        "POST",
        "/webhooks/alertmanager/",
        b"{}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {TOKEN}"},
        CONTENT_LENGTH=str(MAX_BODY_BYTES + 1),
    )
    assert declared.status_code == 413
    assert not AlertDelivery.objects.exists()


def test_only_post_is_answered() -> None:
    assert Client().get("/webhooks/alertmanager/").status_code == 405


def test_firing_then_resolved_is_one_alert_and_a_replay_changes_nothing() -> None:
    started = timezone.now() - timedelta(minutes=10)
    firing = message(alert(LABELS, starts_at=started, summary="5xx above 2 %"))
    resolved = message(alert(LABELS, starts_at=started, ends_at=started + timedelta(minutes=6), summary="back"))

    first = post(firing)
    assert alerts_received(delivery_id=first.json()["delivery"]) == "processed"
    assert alerts_received(delivery_id=first.json()["delivery"]) == "skipped"  # processed at most once
    again = post(firing)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert deliver(*resolved["alerts"]) == "processed"

    row = Alert.objects.get()
    assert (row.status, row.ends_at, row.starts_at) == ("resolved", started + timedelta(minutes=6), started)
    assert row.annotations == {"summary": "back"} and row.name == "HighErrorRate"

    late = message(alert(LABELS, starts_at=started, summary="a late copy"), receiver="other")  # other bytes, same alert
    assert deliver(*late["alerts"]) == "processed"
    row.refresh_from_db()
    assert row.status == "resolved" and row.annotations == {"summary": "back"}  # resolved is final
    assert Alert.objects.count() == 1
    assert AlertDelivery.objects.count() == 3


def test_the_same_alert_firing_again_later_is_a_new_alert() -> None:
    started = timezone.now() - timedelta(hours=1)
    deliver(alert(LABELS, starts_at=started, ends_at=started + timedelta(minutes=5)))
    deliver(alert(LABELS, starts_at=started + timedelta(minutes=30)))
    assert list(Alert.objects.order_by("starts_at").values_list("status", flat=True)) == ["resolved", "firing"]
    assert len(set(Alert.objects.values_list("fingerprint", flat=True))) == 1


def test_a_failed_delivery_is_taken_again_when_alertmanager_sends_it_again() -> None:
    body = _firing()
    pk = post(body).json()["delivery"]
    AlertDelivery.objects.filter(pk=pk).update(outcome=AlertDelivery.Outcome.FAILED, attempts=1, error="boom")
    again = post(body)
    assert again.status_code == 202 and again.json()["status"] == "requeued"
    assert alerts_received(delivery_id=pk) == "processed"
    assert Alert.objects.count() == 1


def test_the_sweep_queues_what_the_broker_did_not_take_and_gives_up_on_a_dead_worker_s_delivery() -> None:
    pk = post(_firing()).json()["delivery"]
    AlertDelivery.objects.filter(pk=pk).update(queued_at=None)
    long_ago = timezone.now() - timedelta(hours=1)
    dead = post(message(alert({**LABELS, "instance": "b"}, starts_at=long_ago))).json()["delivery"]
    AlertDelivery.objects.filter(pk=dead).update(
        outcome=AlertDelivery.Outcome.PROCESSING, attempts=5, claim_heartbeat_at=long_ago
    )

    assert alert_deliveries_sweep() == 1
    assert AlertDelivery.objects.get(pk=pk).queued_at is not None
    gave_up = AlertDelivery.objects.get(pk=dead)
    assert gave_up.outcome == "failed" and "gave up after 5 attempts" in gave_up.error
