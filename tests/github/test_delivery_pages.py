"""The operator's page of webhook deliveries: admin only, filterable, a replay for a failed one."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from delivery.github.models import WebhookDelivery
from tests.conftest import SIGNED_IN_PAGE_QUERIES, member
from tests.factories import WebhookDeliveryFactory

pytestmark = pytest.mark.django_db
Outcome = WebhookDelivery.Outcome


@pytest.fixture
def staff_client(client: Any) -> Any:
    client.force_login(member("ops", role="admin"))
    return client


def test_deliveries_page_is_for_admins_only(client: Any, anonymous_client: Any) -> None:
    WebhookDeliveryFactory()
    response = anonymous_client.get(reverse("webhook-deliveries"))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.get(reverse("webhook-deliveries")).status_code == 403  # a developer
    failed = WebhookDeliveryFactory(outcome=Outcome.FAILED)
    assert client.post(reverse("webhook-delivery-replay", args=[failed.pk])).status_code == 403
    failed.refresh_from_db()
    assert failed.outcome == Outcome.FAILED  # not replayed by a non-admin


def test_deliveries_page_lists_and_filters(staff_client: Any) -> None:
    WebhookDeliveryFactory(event="push", action="", repository_full_name="acme/web", result="3 commit(s) pushed")
    WebhookDeliveryFactory(event="pull_request", outcome=Outcome.FAILED, error="KeyError: 'pull_request'")
    response = staff_client.get(reverse("webhook-deliveries"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "3 commit(s) pushed" in body and "KeyError" in body
    assert body.count("Replay</button>") == 1  # only the failed one

    filtered = staff_client.get(reverse("webhook-deliveries"), {"outcome": "failed"}).content.decode()
    assert "KeyError" in filtered and "3 commit(s) pushed" not in filtered
    by_repo = staff_client.get(reverse("webhook-deliveries"), {"repository": "acme/web"}).content.decode()
    assert "3 commit(s) pushed" in by_repo and "KeyError" not in by_repo
    none = staff_client.get(reverse("webhook-deliveries"), {"event": "release"}).content.decode()
    assert "No deliveries match these filters" in none
    assert '<option value="release" selected>release (none delivered)</option>' in none


def test_a_filter_naming_nothing_says_so_and_the_select_shows_it(staff_client: Any) -> None:
    WebhookDeliveryFactory(event="push", repository_full_name="acme/web")
    body = staff_client.get(reverse("webhook-deliveries"), {"repository": "acme/nope"}).content.decode()
    assert "No repository acme/nope" in body and "No deliveries yet" not in body
    assert '<option value="acme/nope" selected>acme/nope (not followed)</option>' in body
    assert "No outcome lost" in staff_client.get(reverse("webhook-deliveries"), {"outcome": "lost"}).content.decode()


def test_htmx_refresh_returns_only_the_table(staff_client: Any) -> None:
    WebhookDeliveryFactory()
    response = staff_client.get(reverse("webhook-deliveries"), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="delivery-table"')
    assert "<html" not in body
    assert 'id="delivery-stats"' in body and 'hx-swap-oob="true"' in body  # the totals refresh with the table
    assert "<form" not in body  # the filters (and what the user is typing) are left alone


def test_replay_queues_a_failed_delivery_again(staff_client: Any, django_capture_on_commit_callbacks: Any) -> None:
    failed = WebhookDeliveryFactory(outcome=Outcome.FAILED, error="boom")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff_client.post(reverse("webhook-delivery-replay", args=[failed.pk]))
    assert response.status_code == 302
    failed.refresh_from_db()
    assert (failed.outcome, failed.error) == (Outcome.PENDING, "")
    assert len(callbacks) == 1
    again = staff_client.post(reverse("webhook-delivery-replay", args=[failed.pk]), follow=True)
    assert "nothing to replay" in again.content.decode()


def test_a_replay_goes_back_to_the_page_it_came_from_on_this_site_only(staff_client: Any) -> None:
    replay = reverse("webhook-delivery-replay", args=[WebhookDeliveryFactory(outcome=Outcome.FAILED).pk])
    came_from = reverse("webhook-deliveries") + "?outcome=failed"
    assert staff_client.post(replay, {"next": came_from})["Location"] == came_from
    for elsewhere in ("https://evil.example/", "//evil.example/", ""):
        assert staff_client.post(replay, {"next": elsewhere})["Location"] == reverse("webhook-deliveries")


def test_a_replay_naming_other_attempts_than_the_deliverys_says_it_was_replayed_meanwhile(staff_client: Any) -> None:
    failed = WebhookDeliveryFactory(outcome=Outcome.FAILED, attempts=2)
    page = staff_client.post(reverse("webhook-delivery-replay", args=[failed.pk]), {"attempts": "1"}, follow=True)
    assert "was replayed meanwhile (2 attempts)" in page.content.decode()
    for not_a_number in ("-1", "1.0", "²", "9" * 12):  # as good as none: replayed
        failed = WebhookDeliveryFactory(outcome=Outcome.FAILED, attempts=2)
        staff_client.post(reverse("webhook-delivery-replay", args=[failed.pk]), {"attempts": not_a_number})
        assert WebhookDelivery.objects.get(pk=failed.pk).outcome == Outcome.PENDING, not_a_number


def test_delivery_detail_shows_the_stored_payload(staff_client: Any) -> None:
    delivery = WebhookDeliveryFactory(body=b'{"action":"opened","number":7}')
    body = staff_client.get(reverse("webhook-delivery", args=[delivery.pk])).content.decode()
    assert "&quot;number&quot;: 7" in body


@pytest.mark.parametrize("n", [10, 200])
def test_deliveries_page_query_count_does_not_grow_with_deliveries(staff_client: Any, n: int) -> None:
    WebhookDeliveryFactory.create_batch(n, outcome=Outcome.FAILED)
    with CaptureQueriesContext(connection) as queries:
        assert staff_client.get(reverse("webhook-deliveries")).status_code == 200
    # totals (2), filter choices (2), page count + page rows
    assert len(queries) == 6 + SIGNED_IN_PAGE_QUERIES, [q["sql"] for q in queries]


def test_processing_time_reads_in_human_units(staff_client: Any) -> None:
    from datetime import timedelta

    delivery = WebhookDeliveryFactory()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        processed_at=delivery.received_at + timedelta(milliseconds=240)
    )
    body = staff_client.get(reverse("webhook-deliveries")).content.decode()
    assert "240 ms later" in body


@pytest.mark.parametrize("name", ["q", "event", "outcome", "repository"])
def test_a_filter_with_a_nul_character_is_not_a_500(staff_client: Any, name: str) -> None:
    """PostgreSQL refuses NUL in a query: the request is refused in words before the page reads it."""
    WebhookDeliveryFactory(event="push", guid="ab-1")
    response = staff_client.get(reverse("webhook-deliveries"), {name: "a\x00b"})
    assert response.status_code == 400 and "NUL character" in response.content.decode()
