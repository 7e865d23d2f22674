"""ClickUp's webhook endpoint: signed deliveries stored once and queued, anything else refused without a trace; and
`clickup_webhooks install|list|remove` against the stand-in."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from delivery.clickup.models import ClickUpDelivery
from tests.clickup.webhook_helpers import SECRET, body_of, post, sign, status_item
from tools.clickup_server import ClickUpServer

pytestmark = pytest.mark.django_db
Outcome = ClickUpDelivery.Outcome


@pytest.fixture(autouse=True)
def _secret(settings: Any) -> None:
    settings.CLICKUP_WEBHOOK_SECRET = SECRET


def test_a_signed_delivery_is_stored_and_queued(client: Any, django_capture_on_commit_callbacks: Any) -> None:
    body = body_of("taskStatusUpdated", "86b0x1y30", status_item("in progress"))
    with django_capture_on_commit_callbacks() as queued:
        response = post(client, body)
    assert response.status_code == 202 and response.json()["status"] == "queued"
    delivery = ClickUpDelivery.objects.get()
    assert (delivery.event, delivery.task_id, delivery.webhook_id, bytes(delivery.body)) == (
        "taskStatusUpdated",
        "86b0x1y30",
        "7fa3ec74",
        body,
    )
    assert delivery.outcome == Outcome.PENDING and delivery.queued_at is not None and len(queued) == 1


@pytest.mark.parametrize(
    "signature", ["", "0" * 64, sign(b"another body"), sign(b"x", "another secret"), "é" * 64, "sha256=abc"]
)
def test_a_missing_or_wrong_signature_gets_401_and_changes_nothing(client: Any, signature: str) -> None:
    response = post(client, body_of("taskDeleted", "86b0x1y30"), signature=signature)
    assert response.status_code == 401 and "X-Signature" in response.json()["message"]
    assert not ClickUpDelivery.objects.exists()


def test_the_signature_is_over_the_exact_bytes(client: Any) -> None:
    body = body_of("taskDeleted", "86b0x1y30")
    response = post(client, body.replace(b'"taskDeleted"', b'"taskDeleted" '), signature=sign(body))
    assert response.status_code == 401


def test_without_a_secret_the_endpoint_says_it_is_not_configured(client: Any, settings: Any) -> None:
    settings.CLICKUP_WEBHOOK_SECRET = ""
    response = post(client, body_of("taskDeleted", "86b0x1y30"))
    assert response.status_code == 503 and "CLICKUP_WEBHOOK_SECRET" in response.json()["message"]
    assert not ClickUpDelivery.objects.exists()


def test_a_copy_is_stored_once(client: Any) -> None:
    body = body_of("taskStatusUpdated", "86b0x1y30", status_item("review"))
    assert post(client, body).status_code == 202
    again = post(client, body)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert ClickUpDelivery.objects.count() == 1


def test_a_copy_of_a_failed_delivery_is_processed_again(client: Any) -> None:
    body = body_of("taskStatusUpdated", "86b0x1y30", status_item("review"))
    post(client, body)
    ClickUpDelivery.objects.update(outcome=Outcome.FAILED, attempts=1, error="boom")
    again = post(client, body)
    assert again.status_code == 202 and again.json()["status"] == "requeued"
    assert ClickUpDelivery.objects.get().outcome == Outcome.PENDING


def test_an_event_trunkline_did_not_ask_for_is_stored_as_ignored(client: Any) -> None:
    response = post(client, body_of("taskCommentPosted", "86b0x1y30"))
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert ClickUpDelivery.objects.get().outcome == Outcome.IGNORED


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"task_id": "86b0x1y30"}', "no `event`"),
        (b'{"event": "taskUpdated", "task_id": ""}', "without its `task_id`"),
        (b"[" * 100 + b"]" * 100, "not a JSON object"),
        (b'{"event": "taskUpdated", "task_id": "x", "h": ' + b"[" * 100 + b"]" * 100 + b"}", "deeper than 64"),
    ],
)
def test_a_signed_body_that_is_not_a_task_s_delivery_gets_400(client: Any, body: bytes, says: str) -> None:
    response = post(client, body)
    assert response.status_code == 400 and says in response.json()["message"]
    assert not ClickUpDelivery.objects.exists()


def test_a_body_too_large_gets_413(client: Any) -> None:
    body = b'{"event": "taskUpdated", "task_id": "x", "pad": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    assert post(client, body).status_code == 413
    assert not ClickUpDelivery.objects.exists()


def test_only_post_is_answered(client: Any) -> None:
    assert client.get("/webhooks/clickup/").status_code == 405


# -- the command ---------------------------------------------------------------------------------------------------
def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("clickup_webhooks", *args, stdout=out)
    return out.getvalue()


def test_install_registers_the_webhook_and_prints_its_secret_once(clickup: ClickUpServer, settings: Any) -> None:
    settings.TRUNKLINE_PUBLIC_URL = "https://trunkline.example.com/"
    printed = _run("install")
    hook = clickup.webhooks[-1]
    assert hook["endpoint"] == "https://trunkline.example.com/webhooks/clickup/"
    assert hook["events"] == ["taskStatusUpdated", "taskUpdated", "taskAssigneeUpdated", "taskDeleted"]
    assert f"CLICKUP_WEBHOOK_SECRET={hook['secret']}" in printed.splitlines()
    again = _run("install")  # already there: left alone, and no secret to show
    assert len(clickup.webhooks) == 1 and "--replace" in again and hook["secret"] not in again
    replaced = _run("install", "--replace")
    assert len(clickup.webhooks) == 1 and clickup.webhooks[0]["secret"] != hook["secret"]
    assert f"Deleted the earlier webhook {hook['id']}" in replaced
    assert f"CLICKUP_WEBHOOK_SECRET={clickup.webhooks[0]['secret']}" in replaced


def test_list_and_remove(clickup: ClickUpServer, settings: Any) -> None:
    settings.TRUNKLINE_PUBLIC_URL = "https://trunkline.example.com"
    _run("install")
    _run("install", "--url", "https://elsewhere.example.com/hook")
    listed = _run("list")
    assert "https://trunkline.example.com/webhooks/clickup/" in listed and "elsewhere" in listed
    assert "Deleted ClickUp webhook" in _run("remove")
    assert [h["endpoint"] for h in clickup.webhooks] == ["https://elsewhere.example.com/hook"]
    with pytest.raises(CommandError, match="No webhook to https://trunkline"):
        _run("remove")


def test_the_command_says_what_is_missing(clickup_server: ClickUpServer, settings: Any) -> None:
    with pytest.raises(CommandError, match="CLICKUP_TOKEN and CLICKUP_TEAM_ID"):
        _run("install")


def test_the_command_says_what_clickup_answered(clickup: ClickUpServer, settings: Any) -> None:
    settings.TRUNKLINE_PUBLIC_URL = "https://trunkline.example.com"
    clickup.fail_next(1, status=503)
    with pytest.raises(CommandError, match="ClickUp answered 503"):
        _run("install")


def test_the_admin_lists_deliveries_and_replays_a_failed_one(admin_client: Any) -> None:
    post(Client(), body_of("taskDeleted", "86b0x1y30"))
    ClickUpDelivery.objects.update(outcome=Outcome.FAILED, error="boom")
    listing = admin_client.get(reverse("admin:clickup_clickupdelivery_changelist"), {"outcome": "failed"})
    assert listing.status_code == 200 and "86b0x1y30" in listing.content.decode()
    delivery = ClickUpDelivery.objects.get()
    replayed = admin_client.post(
        reverse("admin:clickup_clickupdelivery_changelist"),
        {"action": "replay", "_selected_action": [delivery.pk]},
        follow=True,
    )
    assert "1 deliveries queued again" in replayed.content.decode()
    assert ClickUpDelivery.objects.get().outcome == Outcome.PENDING
