"""The watch and the rollbacks on the release page, the repository page and the board."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from delivery.flows.watches import watches_open
from tests.conftest import member
from tests.rollbacks.helpers import history, rollback_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def prod() -> dict[str, Any]:
    olga, pete = member("olga"), member("pete")
    made = history(olga.developer, pete.developer)
    watches_open(repository_id=made["repo"].pk)
    rollback_row(made, state="succeeded", from_release=made["v1.1"], reason="checkout 500s", requested_by=olga)
    return {"olga": olga, "pete": pete, **made}


def _as(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_release_page_shows_the_watches_with_countdowns_and_the_rollback_button(prod: dict[str, Any]) -> None:
    body = _as(prod["olga"]).get(reverse("release", args=[prod["v1.2"].pk])).content.decode()
    assert "olga</strong>'s watch" in body and "pete</strong>'s watch" in body
    assert 'class="countdown"' in body and "left" in body
    assert reverse("rollback-new", args=[prod["v1.2"].pk]) in body
    viewer = _as(member("vic", role="viewer")).get(reverse("release", args=[prod["v1.2"].pk])).content.decode()
    assert reverse("rollback-new", args=[prod["v1.2"].pk]) not in viewer
    rolled = _as(prod["olga"]).get(reverse("release", args=[prod["v1.1"].pk])).content.decode()
    assert "Rolled back to v1.0" in rolled and "checkout 500s" in rolled and "Succeeded" in rolled


def test_the_repository_page_and_the_board_show_the_rollback(prod: dict[str, Any]) -> None:
    client = _as(prod["pete"])
    repo = client.get(reverse("repository", args=[prod["repo"].pk])).content.decode()
    assert "Rollbacks" in repo and "v1.1 → v1.0" in repo and "checkout 500s" in repo
    board = client.get(reverse("board"), headers={"HX-Request": "true"}).content.decode()  # the live partial too
    assert "rolled back to" in board and "v1.0" in board and "checkout 500s" in board
    assert 'class="countdown"' in board  # the in-production cards count down their watch window
