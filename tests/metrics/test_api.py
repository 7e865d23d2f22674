"""The metrics API: one answer with the page and the command, described by its OpenAPI document, opened by a session
or a personal token; one person's figures for that person and admins only; mistakes answered in words."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import jsonschema
import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from delivery.accounts.models import ApiToken, AuditEvent, Developer
from delivery.accounts.tokens import token_create
from delivery.metrics.figures import metrics
from delivery.metrics.openapi import document
from tests.conftest import member
from tests.factories import DeveloperFactory
from tests.metrics.history import WEEK, History

pytestmark = pytest.mark.django_db
PERIOD = {"from": WEEK[0].isoformat(), "to": WEEK[1].isoformat()}


def schema(name: str) -> dict[str, Any]:
    return document()["components"]["schemas"][name]


@pytest.fixture
def history() -> History:
    h = History(owner="acme", name="shop", full_name="acme/shop")
    ana = DeveloperFactory(login="ana")
    h.merge(ana, opened=0, merged=60, first_commit=-120, reviews=((DeveloperFactory(), 20),))
    h.merge(ana, opened=10, merged=90, first_commit=0)
    h.deploy("production", 1, 100)
    h.deploy("production", 2, 130, state="failure")
    h.deploy("production", 2, 160)
    h.derive()
    return h


def bearer(raw: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {raw}"})


def test_the_api_the_command_and_the_figures_agree_and_match_the_openapi_document(
    client: Any, history: History
) -> None:
    answer = client.get("/api/v1/metrics/", PERIOD)
    out = StringIO()
    call_command("metrics", "--from", PERIOD["from"], "--to", PERIOD["to"], stdout=out)

    assert answer.status_code == 200
    body = answer.json()
    jsonschema.validate(body, schema("Metrics"))
    assert body == json.loads(out.getvalue()) == json.loads(json.dumps(metrics(history.scope())))
    assert body["repositories"] == ["acme/shop"]
    assert body["change_failure_rate"]["releases"] == 3 and body["change_failure_rate"]["failed"] == 1
    assert body["deployment_frequency"]["deployments"] == 2


def test_the_evidence_lists_the_rows_each_figure_counts(client: Any, history: History) -> None:
    figures = client.get("/api/v1/metrics/", PERIOD).json()
    for figure, count in (
        ("lead_time", figures["lead_time"]["changes"]),
        ("deployment_frequency", figures["deployment_frequency"]["deployments"]),
        ("change_failure_rate", figures["change_failure_rate"]["releases"]),
        ("process", figures["process"]["merged_prs"]),
    ):
        answer = client.get("/api/v1/metrics/evidence/", {**PERIOD, "figure": figure})
        assert answer.status_code == 200
        body = answer.json()
        jsonschema.validate(body, schema("Evidence"))
        assert body["count"] == len(body["rows"]) == count, figure
    failed = client.get("/api/v1/metrics/evidence/", {**PERIOD, "figure": "change_failure_rate"}).json()["rows"]
    assert [r["why"] for r in failed if r["failed"]] == ["the deployment failed"]
    assert client.get("/api/v1/metrics/evidence/", {**PERIOD, "figure": "happiness"}).status_code == 400


def test_a_personal_token_opens_the_api_until_it_is_revoked_or_expires(history: History) -> None:
    user = member("tess")
    token, raw = token_create(user=user, name="Grafana", days=30)

    first = bearer(raw).get("/api/v1/metrics/", PERIOD)
    second = bearer(raw).get("/api/v1/metrics/", PERIOD)

    assert first.status_code == second.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert token.key_hash != raw and raw not in token.key_hash  # only the hash is kept
    # Its creation and use are audited (a use at most every few minutes).
    verbs = list(AuditEvent.objects.filter(target_type="api_token").values_list("verb", flat=True))
    assert sorted(verbs) == ["token_created", "token_used"]

    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert bearer(raw).get("/api/v1/metrics/", PERIOD).status_code == 401
    ApiToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() + timedelta(days=1), revoked_at=timezone.now()
    )
    refused = bearer(raw).get("/api/v1/metrics/", PERIOD)
    assert refused.status_code == 401 and "revoked" in refused.json()["error"]


@pytest.mark.parametrize(
    "header", ["Basic dGVzczp4", "Bearer", "Bearer tl_not-a-token", "Bearer " + "x" * 500, "Token abc"]
)
def test_a_missing_or_wrong_credential_gets_401_in_words(header: str) -> None:
    anonymous = Client().get("/api/v1/metrics/", PERIOD)
    wrong = Client(headers={"Authorization": header}).get("/api/v1/metrics/", PERIOD)
    for answer in (anonymous, wrong):
        assert answer.status_code == 401
        assert answer["WWW-Authenticate"].startswith("Bearer")
        assert answer.json()["error"]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"from": "2026-11-02"}, "both from and to"),
        ({"from": "2026-11-02", "to": "yesterday"}, "YYYY-MM-DD"),
        ({"from": "2026-11-09", "to": "2026-11-02"}, "ends before it starts"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "at most"),
        ({**PERIOD, "repository": "acme/nope"}, "No followed repository 'acme/nope'"),
        ({**PERIOD, "login": "nobody-here"}, "Nobody with the login"),
        ({"period": "decade"}, "no period named"),
    ],
)
def test_a_wrong_parameter_gets_400_in_words(client: Any, params: dict[str, str], words: str) -> None:
    answer = client.get("/api/v1/metrics/", params)
    assert answer.status_code == 400
    assert words in answer.json()["error"]


def test_one_persons_figures_are_for_that_person_and_admins_only(history: History) -> None:
    ana_user = member("ana")  # the author of the history's changes
    assert Developer.objects.get(login="ana").user == ana_user
    ben, boss = Client(), Client()
    ben.force_login(member("ben"))
    boss.force_login(member("boss", role="admin"))
    ana = Client()
    ana.force_login(ana_user)
    params = {**PERIOD, "login": "ana"}

    assert ben.get("/api/v1/metrics/", params).status_code == 403
    assert ben.get("/metrics/", params).status_code == 403
    assert ana.get("/api/v1/metrics/", params).json()["lead_time"]["changes"] == 2
    assert boss.get("/api/v1/metrics/", params).status_code == 200
    assert ben.get("/api/v1/metrics/", PERIOD).status_code == 200  # the team's figures are everyone's


def test_the_openapi_document_is_served_and_describes_both_operations() -> None:
    answer = Client().get("/api/v1/openapi.json")
    assert answer.status_code == 200
    body = answer.json()
    assert body["openapi"].startswith("3.1")
    assert set(body["paths"]) == {"/api/v1/metrics/", "/api/v1/metrics/evidence/"}
    jsonschema.Draft202012Validator.check_schema(body["components"]["schemas"]["Metrics"])


def test_evidence_comes_a_page_at_a_time_what_counts_against_the_figure_first(
    client: Any, history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("delivery.metrics.evidence.LIMIT", 2)
    params = {**PERIOD, "figure": "change_failure_rate"}

    first = client.get("/api/v1/metrics/evidence/", params).json()
    second = client.get("/api/v1/metrics/evidence/", {**params, "page": "2"}).json()
    wrong = [client.get("/api/v1/metrics/evidence/", {**params, "page": p}) for p in ("0", "two", "-1")]

    jsonschema.validate(first, schema("Evidence"))
    assert (first["count"], first["page"], first["pages"], first["truncated"]) == (3, 1, 2, True)
    assert [r["failed"] for r in first["rows"]] == [True, False]  # the failed release first
    assert (second["page"], len(second["rows"])) == (2, 1)
    assert len({r["went_live_at"] for r in first["rows"] + second["rows"]}) == 3  # each row once
    assert all(answer.status_code == 400 and "page" in answer.json()["error"] for answer in wrong)


def test_a_named_period_wins_over_dates_left_in_the_url(client: Any) -> None:
    answer = client.get("/api/v1/metrics/", {"period": "week", **PERIOD}).json()
    custom = client.get("/api/v1/metrics/", {"period": "custom", **PERIOD}).json()

    assert answer["from"] != PERIOD["from"] and answer["to"] == timezone.now().date().isoformat()
    assert (custom["from"], custom["to"]) == (PERIOD["from"], PERIOD["to"])


@pytest.mark.parametrize("path", ["/api/v1/metrics/", "/api/v1/metrics/evidence/", "/api/v1/openapi.json"])
def test_the_api_answers_a_write_with_405_in_json(client: Any, path: str) -> None:
    answer = client.post(path, {"figure": "lead_time"})

    assert answer.status_code == 405
    assert answer["Allow"] == "GET, HEAD"
    assert "read with GET" in answer.json()["error"]
