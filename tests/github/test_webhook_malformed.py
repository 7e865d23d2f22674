"""Signed but malformed deliveries: a 4xx with the reason, or stored and failed with the reason; never a 5xx (GitHub
and Trunkline's own recovery send a 5xx'd delivery again). Run on PostgreSQL too: it refuses NUL in text."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from delivery.accounts.models import Developer
from delivery.github.models import PullRequest, Repository, WebhookDelivery
from delivery.github.webhook_input import MAX_DEPTH
from delivery.github.webhooks import delivery_process
from tests.conftest import member
from tests.github.webhook_helpers import example, post_delivery, sign

pytestmark = pytest.mark.django_db
Outcome = WebhookDelivery.Outcome


@pytest.fixture(autouse=True)
def _any_owner(settings: Any) -> None:
    settings.GITHUB_ORG = ""
    settings.GITHUB_TOKEN = ""


def process(delivery_id: int) -> str:
    return delivery_process(delivery_id=delivery_id, client_factory=lambda: None)


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


# -- refused with the reason -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [100_000, 2_000, MAX_DEPTH + 2], ids=["100k", "2k", "just-over"])
def test_a_body_nested_deeper_than_any_github_payload_is_400(client: Any, depth: int) -> None:
    response = post_delivery(client, "push", nested(depth))
    assert response.status_code == 400
    assert f"nested deeper than {MAX_DEPTH} levels" in response.json()["message"]
    assert not WebhookDelivery.objects.exists()


def test_a_body_nested_as_deep_as_the_limit_is_taken(client: Any) -> None:
    assert post_delivery(client, "no_such_event", nested(MAX_DEPTH - 1)).status_code == 200


@pytest.mark.parametrize(
    ("header", "value", "reason"),
    [
        ("X-GitHub-Delivery", "a\x00b", "printable ASCII"),
        ("X-GitHub-Delivery", "guid with spaces", "printable ASCII"),
        ("X-GitHub-Delivery", "caf\xe9-\xff", "printable ASCII"),  # odd bytes arrive as latin-1 characters
        ("X-GitHub-Delivery", "g" * 101, "longer than 100 characters"),
        ("X-GitHub-Event", "pull_request\x00", "printable ASCII"),
        ("X-GitHub-Event", "\xff\xfe", "printable ASCII"),
        ("X-GitHub-Event", "e" * 61, "longer than 60 characters"),
    ],
    ids=["guid-nul", "guid-space", "guid-latin1", "guid-101", "event-nul", "event-bytes", "event-61"],
)
def test_a_github_header_that_is_not_a_guid_or_an_event_name_is_400(
    client: Any, header: str, value: str, reason: str
) -> None:
    payload = example("pull_request", "opened.payload.json")
    response = post_delivery(client, "pull_request", payload, headers={header: value})
    assert response.status_code == 400
    assert header in response.json()["message"] and reason in response.json()["message"]
    assert not WebhookDelivery.objects.exists()


def test_two_long_guids_sharing_their_first_hundred_characters_do_not_collide(client: Any) -> None:
    """They used to be cut to the column's length: the second was dropped as a "duplicate" of the first."""
    payload = example("pull_request", "opened.payload.json")
    first = post_delivery(client, "pull_request", payload, guid="x" * 100 + "-first")
    second = post_delivery(client, "pull_request", payload, guid="x" * 100 + "-second")
    assert (first.status_code, second.status_code) == (400, 400)
    assert not WebhookDelivery.objects.exists()
    whole = post_delivery(client, "pull_request", payload, guid="x" * 100)  # the column's length is taken whole
    assert whole.status_code == 202 and WebhookDelivery.objects.get().guid == "x" * 100


# -- stored, then failed with the reason -----------------------------------------------------------------------------
@pytest.mark.parametrize("odd", ["\x00", "\ud800"], ids=["nul", "lone-surrogate"])
def test_an_odd_character_in_action_is_stored_replaced_and_ignored(client: Any, odd: str) -> None:
    payload = {**example("pull_request", "opened.payload.json"), "action": f"open{odd}ed"}
    response = post_delivery(client, "pull_request", payload)
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.action, delivery.outcome) == ("open\ufffded", Outcome.IGNORED)  # never "opened"
    assert "does not change the delivery pipeline" in delivery.result
    assert not PullRequest.objects.exists()


def _with(payload: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(payload))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


@pytest.mark.parametrize(
    "path",
    [
        ("repository", "full_name"),
        ("repository", "owner", "login"),
        ("pull_request", "title"),
        ("pull_request", "head", "ref"),
        ("pull_request", "user", "login"),
        ("sender", "login"),
    ],
    ids=lambda p: ".".join(p),
)
@pytest.mark.parametrize("odd", ["\x00", "\ud800"], ids=["nul", "lone-surrogate"])
def test_an_odd_character_anywhere_in_a_handled_payload_fails_the_delivery_with_where_it_is(
    client: Any, path: tuple[str, ...], odd: str
) -> None:
    payload = example("pull_request", "opened.payload.json")
    payload = _with(payload, path, f"{payload[path[0]] if len(path) == 1 else 'x'}{odd}y")
    response = post_delivery(client, "pull_request", payload)
    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get()
    assert "\x00" not in delivery.repository_full_name and odd not in delivery.repository_full_name
    assert process(delivery.pk) == Outcome.FAILED
    delivery.refresh_from_db()
    assert f"malformed payload: {'.'.join(path)} holds" in delivery.error
    assert "cannot be stored" in delivery.error
    assert not PullRequest.objects.exists() and not Repository.objects.exists()
    assert not Developer.objects.exclude(login="tess").exists()  # only the signed-in test user


def test_an_odd_character_in_a_key_fails_the_delivery_and_its_reason_is_storable(client: Any) -> None:
    payload = example("pull_request", "opened.payload.json")
    payload["pull_request"]["lab\x00els"] = []
    post_delivery(client, "pull_request", payload)
    delivery = WebhookDelivery.objects.get()
    assert process(delivery.pk) == Outcome.FAILED
    delivery.refresh_from_db()
    assert "pull_request.lab\ufffdels holds a NUL character" in delivery.error


@pytest.mark.parametrize(
    "repository",
    [{"id": 2**70, "full_name": "a/b"}, {"id": True, "full_name": "a/b"}, {"id": "12", "full_name": ["a", "b"]}],
    ids=["id-over-bigint", "id-bool", "id-string"],
)
def test_a_repository_id_no_column_takes_is_stored_and_failed(client: Any, repository: dict[str, Any]) -> None:
    payload = {**example("pull_request", "opened.payload.json"), "repository": repository}
    response = post_delivery(client, "pull_request", payload)
    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get()
    assert delivery.repository is None
    assert process(delivery.pk) == Outcome.FAILED


@pytest.mark.parametrize(
    "repositories",
    [[{"id": 2**70}], [{"id": "12"}], [{"id": None}], ["12"], {"id": 12}],
    ids=["id-over-bigint", "id-string", "id-null", "not-an-object", "not-a-list"],
)
@pytest.mark.parametrize(
    ("event", "name", "key"),
    [
        ("installation", "deleted.payload.json", "repositories"),
        ("installation_repositories", "removed.payload.json", "repositories_removed"),
    ],
    ids=["installation", "installation_repositories"],
)
def test_an_installation_naming_repositories_by_odd_ids_fails_with_the_reason(
    client: Any, repositories: Any, event: str, name: str, key: str
) -> None:
    """The same on every database (SQLite overflowed where PostgreSQL found nothing and said it had)."""
    payload = {**example(event, name), key: repositories}
    assert post_delivery(client, event, payload).status_code == 202
    delivery = WebhookDelivery.objects.get()
    assert process(delivery.pk) == Outcome.FAILED
    delivery.refresh_from_db()
    assert f"malformed payload: {key}" in delivery.error


@pytest.mark.parametrize("odd", ["\x00", "\ud800"], ids=["nul", "lone-surrogate"])
def test_the_operator_reads_a_delivery_with_odd_characters(client: Any, odd: str) -> None:
    payload = {**example("pull_request", "opened.payload.json"), "action": f"x{odd}"}
    payload["repository"]["full_name"] = f"acme/{odd}"
    post_delivery(client, "pull_request", payload, guid="odd")
    admin = member("ada", role="admin")
    client.force_login(admin)
    delivery = WebhookDelivery.objects.get()
    listing = client.get(reverse("webhook-deliveries"))
    detail = client.get(reverse("webhook-delivery", args=[delivery.pk]))
    assert (listing.status_code, detail.status_code) == (200, 200)
    assert "acme/\ufffd" in detail.content.decode()


def test_a_form_encoded_delivery_is_checked_like_a_json_one(client: Any) -> None:
    from urllib.parse import urlencode

    body = urlencode({"payload": nested(100_000).decode()}).encode()
    response = client.post(
        "/webhooks/github/",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers={"X-GitHub-Event": "push", "X-GitHub-Delivery": "form-deep", "X-Hub-Signature-256": sign(body)},
    )
    assert response.status_code == 400 and "nested deeper" in response.json()["message"]
