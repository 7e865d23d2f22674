"""A NUL character in an address, a query or a form is the client's mistake: 400 with the reason, never a 500
from the database (PostgreSQL refuses NUL in text)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> Client:
    made = Client(raise_request_exception=False)
    made.force_login(member("ada", role="admin"))
    return made


@pytest.mark.parametrize(
    "address",
    [
        "/board/?repository=%00",
        "/board/?person=a%00",
        "/people/a%00b/",
        "/operations/webhooks/?event=%00",
        "/me/?x%00=1",
    ],
)
def test_a_nul_in_the_address_is_a_400_in_words(client: Client, address: str) -> None:
    answer = client.get(address)
    assert answer.status_code == 400 and "NUL character" in answer.content.decode()


def test_a_nul_in_a_form_is_a_400_and_nothing_is_stored(client: Client, settings: Any) -> None:
    answer = client.post("/settings/team/overrides/", {"login": "ada\x00", "starts_at": "x", "ends_at": "y"})
    assert answer.status_code == 400 and "NUL character" in answer.content.decode()
