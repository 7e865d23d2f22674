"""A repository's production signals in its settings: Prometheus's address and queries (string.Template
placeholders, a name, a unit and a rule each), Sentry's organization, project and environment; bad input is refused
in words and nothing is saved."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from delivery.accounts.models import AuditEvent
from delivery.github.models import Repository
from delivery.github.signal_settings import (
    Rule,
    default_signal_queries,
    queries_parse,
    queries_text,
    query_fill,
    query_problem,
    rule_parse,
    value_words,
)
from tests.conftest import member
from tests.factories import RepositoryFactory
from tests.github.test_repository_settings import _form_data

pytestmark = pytest.mark.django_db
QUERY = 'sum(rate(errors_total{env="$environment",sha="$sha"}[$window])) / sum(rate(requests_total[$window]))'


@pytest.fixture
def admin() -> Client:
    client = Client()
    client.force_login(member("ada", role="admin"))
    return client


def _save(admin: Client, repo: Repository, **changes: Any) -> Any:
    return admin.post(reverse("repository-settings", args=[repo.pk]), _form_data(repo, **changes))


def test_a_new_repository_has_the_default_queries_and_no_source() -> None:
    repo = RepositoryFactory()
    assert [q["name"] for q in repo.signal_queries] == ["Error ratio", "p95 latency"]
    assert repo.prometheus_url == "" and repo.sentry_organization == "" and repo.sentry_issue_events == 10
    for query in repo.signal_queries:
        assert query_problem(query["query"]) == ""
        rule_parse(query["rule"])


def test_an_admin_sets_prometheus_and_sentry(admin: Client) -> None:
    repo = RepositoryFactory()
    page = admin.get(reverse("repository-settings", args=[repo.pk])).content.decode()
    assert "Production signals" in page and "Error ratio | ratio | ratio | sum(rate(http_requests_total" in page
    lines = f"Errors | ratio | 2x +0.02 | {QUERY}\nQueue depth | jobs | >500 | max(queue_depth)"
    response = _save(
        admin,
        repo,
        prometheus_url="http://prometheus:9090/",
        queries=lines,
        sentry_organization="acme",
        sentry_project="4504",
        sentry_environment="prod",
        sentry_issue_events=3,
    )
    assert response.status_code == 302
    repo.refresh_from_db()
    assert repo.prometheus_url == "http://prometheus:9090"  # no trailing slash: the client adds the API's path
    assert repo.signal_queries == [
        {"name": "Errors", "unit": "ratio", "rule": "2x +0.02", "query": QUERY},
        {"name": "Queue depth", "unit": "jobs", "rule": ">500", "query": "max(queue_depth)"},
    ]
    assert (repo.sentry_organization, repo.sentry_project, repo.sentry_environment) == ("acme", "4504", "prod")
    assert repo.sentry_issue_events == 3
    summary = AuditEvent.objects.get(verb=AuditEvent.Verb.SETTINGS_CHANGED).summary
    assert "Prometheus queries" in summary and "Sentry organization" in summary


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"prometheus_url": "prometheus:9090"}, "starts with http:// or https://"),
        ({"prometheus_url": "http://"}, "names its host"),
        ({"prometheus_url": "http://prom:99999"}, "names its host"),
        ({"prometheus_url": "http://prom:9090/?x=1"}, "without ?"),
        ({"prometheus_url": "http://user:pw@prom:9090"}, "PROMETHEUS_BEARER_TOKEN"),
        ({"queries": "Errors | ratio | ratio | sum(errors{sha=$5})"}, "Line 1: the $ at position 16 is not"),
        ({"queries": "Errors | ratio | ratio | rate(x[$__interval])"}, "Line 1: unknown placeholder $__interval"),
        ({"queries": "Errors | ratio | ratio | rate(x[${window)"}, "is not a placeholder"),
        ({"queries": "Errors | ratio | sometimes | up"}, "“sometimes” is not a rule"),
        ({"queries": "Errors | ratio | 2x >0.1 | up"}, "not both"),
        ({"queries": "Errors | ratio | 0.5x | up"}, "factor under 1x"),
        ({"queries": "ok | s | latency | up\nErrors | ratio"}, "Line 2: write name | unit | rule | query"),
        ({"queries": "A | s | latency | up\n\na | s | latency | up"}, "Line 3: the name “a” is used twice"),
        ({"queries": "Sentry issues | s | latency | up"}, "the Sentry signal's name"),
        ({"queries": "\n".join(f"q{i} | s | latency | up" for i in range(9))}, "At most 8 queries"),
        ({"prometheus_url": "http://prom:9090", "queries": ""}, "at least one query"),
        ({"sentry_organization": "acme"}, "both the Sentry organization and the project id"),
        ({"sentry_project": "4504"}, "both the Sentry organization and the project id"),
        ({"sentry_organization": "Acme Inc", "sentry_project": "1"}, "slug"),
        ({"sentry_organization": "acme", "sentry_project": "backend"}, "numeric id"),
        ({"sentry_issue_events": -1}, "at least 0 events"),
    ],
)
def test_bad_signal_settings_are_refused_in_words_and_nothing_is_saved(
    admin: Client, changes: dict[str, Any], message: str
) -> None:
    repo = RepositoryFactory()
    response = _save(admin, repo, **changes)
    assert response.status_code == 400
    assert message in response.content.decode().replace("&amp;", "&").replace("&#x27;", "'")
    repo.refresh_from_db()
    assert repo.prometheus_url == "" and repo.signal_queries == default_signal_queries()
    assert repo.sentry_organization == repo.sentry_project == ""


def test_saving_the_page_as_shown_keeps_the_queries_and_records_no_change(admin: Client) -> None:
    repo = RepositoryFactory(prometheus_url="http://prom:9090")
    assert _save(admin, repo).status_code == 302
    repo.refresh_from_db()
    assert repo.signal_queries == default_signal_queries()
    assert not AuditEvent.objects.filter(verb=AuditEvent.Verb.SETTINGS_CHANGED).exists()


def test_queries_read_back_as_the_lines_they_were_written_as() -> None:
    queries = default_signal_queries()
    assert queries_parse(queries_text(queries)) == queries
    # the query is the last part: a | inside it (a regular expression) stays in it
    query = 'rate(x{code=~"500|502"}[1m])'
    assert queries_parse(f"E | ratio | ratio | {query}")[0]["query"] == query


def test_placeholders_are_filled_and_a_dollar_is_written_twice() -> None:
    filled = query_fill(QUERY + ' + $$5 + 0 * up{x="$$y"}', environment="production", sha="abc", window="2m")
    assert 'env="production",sha="abc"}[2m]' in filled and "[2m]))" in filled
    assert filled.endswith(' + $5 + 0 * up{x="$y"}')


@pytest.mark.parametrize(
    ("text", "baseline", "threshold", "words"),
    [
        ("ratio", 0.004, 0.014, "above max(2 × baseline, baseline + 1 pp)"),
        ("ratio", 0.02, 0.04, "above max(2 × baseline, baseline + 1 pp)"),
        ("latency", 0.2, 0.30000000000000004, "above 1.5 × baseline"),
        ("> 0.05", None, 0.05, "above 5.0 %"),
        ("+0.5", 2.0, 2.5, "above baseline + 50 pp"),
    ],
)
def test_rules_give_the_threshold_against_the_baseline(
    text: str, baseline: float | None, threshold: float, words: str
) -> None:
    rule = rule_parse(text)
    assert rule.threshold(baseline) == pytest.approx(threshold)
    assert rule.words("ratio") == words


def test_a_relative_rule_without_a_baseline_has_no_threshold() -> None:
    assert Rule(factor=1.5).threshold(None) is None
    assert Rule(factor=1.5).needs_baseline and not Rule(limit=3).needs_baseline


def test_values_are_shown_in_their_unit() -> None:
    assert value_words(0.004, "ratio") == "0.4 %"
    assert value_words(0.0612, "ratio") == "6.1 %"
    assert value_words(0.00333, "ratio") == "0.33 %"
    assert value_words(0.25, "ratio") == "25.0 %"
    assert value_words(0.2345, "s") == "234 ms"
    assert value_words(1.5, "s") == "1.50 s"
    assert value_words(512, "jobs") == "512 jobs"
    assert value_words(None, "s") == "—"
