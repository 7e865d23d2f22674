"""Asking for a rollback: who may, to what, with a reason; a double click starts one; one in flight at a time,
enforced by the database (50 concurrent requests on PostgreSQL start exactly one)."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from delivery.accounts.models import AuditEvent
from delivery.flows.rollbacks import rollback_executed, rollback_requested
from delivery.pipeline.models import Release
from delivery.rollbacks.models import Rollback
from delivery.rollbacks.selectors import changes_undone, last_known_good, rollback_targets
from delivery.rollbacks.services import RollbackInFlight, RollbackRefused
from tests.conftest import member
from tests.rollbacks.helpers import history


@pytest.fixture
def prod(db: None) -> dict[str, Any]:
    olga, pete = member("olga"), member("pete")
    made = history(olga.developer, pete.developer)
    third = member("tara")  # a developer who shipped none of it
    return {"olga": olga, "pete": pete, "tara": third, **made}


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _form(
    target: Release, reason: str = "5xx on checkout", key: str | None = None, live: Release | None = None
) -> dict[str, Any]:
    """The confirmation as posted: the target, the reason, the form's key and the live release it showed (by default
    what history() makes live)."""
    live = live or Release.objects.filter(repository__full_name="acme/api").order_by("-deployed_at").first()
    return {"target": target.pk, "reason": reason, "idempotency_key": key or uuid.uuid4().hex, "live": live.pk}


pytestmark = pytest.mark.django_db


def test_targets_and_the_last_known_good(prod: dict[str, Any]) -> None:
    live = prod["v1.2"]
    assert [t.tag_name for t in rollback_targets(live)] == ["v1.1", "v1.0"]
    assert last_known_good(live) == prod["v1.0"]  # v1.1 failed
    assert sorted(c.title for c in changes_undone(live, prod["v1.0"])) == [
        "v1.1 change 0 by olga",
        "v1.2 change 0 by olga",
        "v1.2 change 0 by pete",
    ]


def test_the_confirmation_shows_live_target_changes_and_asks_a_reason(prod: dict[str, Any]) -> None:
    page = _client(prod["olga"]).get(reverse("rollback-new", args=[prod["v1.2"].pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Live now" in body and "v1.2" in body and "last known good" in body
    assert "v1.1 change 0 by olga" in body and 'name="reason"' in body and "required" in body
    assert 'name="idempotency_key"' in body and 'method="post"' in body  # works without JavaScript
    partial = _client(prod["olga"]).get(
        reverse("rollback-new", args=[prod["v1.2"].pk]), {"target": prod["v1.1"].pk}, headers={"HX-Request": "true"}
    )
    assert partial.content.decode().lstrip().startswith('<section id="rollback-form"')
    assert "v1.1 change 0 by olga" not in partial.content.decode()  # going back to v1.1 keeps its changes


ALLOWED = {
    "viewer": False,
    "developer (not an owner)": False,
    "developer (owner)": True,
    "on-call": True,
    "admin": True,
}


@pytest.mark.parametrize("who", list(ALLOWED))
def test_who_may_roll_back_which_release(prod: dict[str, Any], who: str) -> None:
    user = {
        "viewer": lambda: member("vic", role="viewer"),
        "developer (not an owner)": lambda: prod["tara"],
        "developer (owner)": lambda: prod["olga"],
        "on-call": lambda: member("ona", role="on-call"),
        "admin": lambda: member("ada", role="admin"),
    }[who]()
    response = _client(user).post(reverse("rollback-new", args=[prod["v1.2"].pk]), _form(prod["v1.0"]))
    if ALLOWED[who]:
        rollback = Rollback.objects.get()
        assert response.status_code == 302 and response["Location"] == reverse("rollback", args=[rollback.pk])
        assert (rollback.target_tag, rollback.state, rollback.requested_by) == ("v1.0", "requested", user)
        assert Release.objects.get(pk=prod["v1.2"].pk).failed  # a rollback fails the release for the metrics
    else:
        assert response.status_code == 403
        assert not Rollback.objects.exists()
        assert not Release.objects.get(pk=prod["v1.2"].pk).failed
        assert not AuditEvent.objects.filter(verb=AuditEvent.Verb.ROLLBACK_REQUESTED).exists()


def test_a_target_that_is_not_an_earlier_successful_release_is_400(prod: dict[str, Any]) -> None:
    client = _client(prod["olga"])
    url = reverse("rollback-new", args=[prod["v1.2"].pk])
    assert client.post(url, _form(prod["v1.2"])).status_code == 400  # itself
    from tests.factories import RepositoryFactory
    from tests.rollbacks.helpers import release

    elsewhere = release(RepositoryFactory(), "v0.9", at=prod["v1.0"].deployed_at)
    assert client.post(url, _form(elsewhere)).status_code == 400  # another repository's
    failed_deploy = prod["v1.0"]
    failed_deploy.state = Release.State.FAILED
    failed_deploy.save()
    response = client.post(url, _form(failed_deploy))
    assert response.status_code == 400 and "earlier successful production release" in response.content.decode()
    assert client.post(url, {"reason": "x", "idempotency_key": "k"}).status_code == 400  # no target
    assert not Rollback.objects.exists()


def test_the_reason_is_required(prod: dict[str, Any]) -> None:
    response = _client(prod["olga"]).post(reverse("rollback-new", args=[prod["v1.2"].pk]), _form(prod["v1.0"], "  "))
    assert response.status_code == 400 and "reason is required" in response.content.decode()
    assert not Rollback.objects.exists()


def test_a_double_click_starts_one_rollback(prod: dict[str, Any]) -> None:
    client = _client(prod["olga"])
    form = _form(prod["v1.0"], key="same-form")
    first = client.post(reverse("rollback-new", args=[prod["v1.2"].pk]), form)
    second = client.post(reverse("rollback-new", args=[prod["v1.2"].pk]), form)
    assert first["Location"] == second["Location"] and Rollback.objects.count() == 1
    assert AuditEvent.objects.filter(verb=AuditEvent.Verb.ROLLBACK_REQUESTED).count() == 1


def test_a_second_rollback_while_one_is_in_flight_is_409_and_shows_it(prod: dict[str, Any]) -> None:
    _client(prod["olga"]).post(reverse("rollback-new", args=[prod["v1.2"].pk]), _form(prod["v1.0"]))
    response = _client(member("ona", role="on-call")).post(
        reverse("rollback-new", args=[prod["v1.2"].pk]), _form(prod["v1.1"])
    )
    body = response.content.decode()
    assert response.status_code == 409 and "in flight" in body and "v1.0" in body
    assert reverse("rollback", args=[Rollback.objects.get().pk]) in body
    assert Rollback.objects.count() == 1


def test_the_service_raises_for_refusals(prod: dict[str, Any]) -> None:
    with pytest.raises(RollbackRefused) as refused:
        rollback_requested(
            release=prod["v1.2"],
            target=prod["v1.0"],
            user=prod["tara"],
            reason="x",
            idempotency_key="a",
            shown_live_id=None,
        )
    assert refused.value.status == 403
    rollback_requested(
        release=prod["v1.2"],
        target=prod["v1.0"],
        user=prod["olga"],
        reason="x",
        idempotency_key="b",
        shown_live_id=None,
    )
    with pytest.raises(RollbackInFlight):
        rollback_requested(
            release=prod["v1.2"],
            target=prod["v1.1"],
            user=prod["olga"],
            reason="y",
            idempotency_key="c",
            shown_live_id=None,
        )


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_requests_start_exactly_one_rollback(prod: dict[str, Any]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is the database's job: this runs against PostgreSQL (CI)")
    users = [member(f"oncall{i}", role="on-call") for i in range(50)]
    url = reverse("rollback-new", args=[prod["v1.2"].pk])
    start = threading.Barrier(50)
    answers: list[int] = []

    def click(user: Any) -> None:
        client = _client(user)
        start.wait()
        try:
            answers.append(client.post(url, _form(prod["v1.0"])).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=click, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Rollback.objects.count() == 1
    assert sorted(answers) == [302] + [409] * 49


def test_a_developer_cannot_roll_back_someone_elses_live_release_from_their_own_page(prod: dict[str, Any]) -> None:
    from tests.rollbacks.helpers import release

    mine_earlier = release(prod["repo"], "v1.15", at=prod["v1.2"].deployed_at, owners=[prod["tara"].developer])
    Release.objects.filter(pk=prod["v1.2"].pk).update(deployed_at=mine_earlier.deployed_at + timedelta(minutes=1))
    # tara owns v1.15; pete and olga own v1.2, which is live
    response = _client(prod["tara"]).post(reverse("rollback-new", args=[mine_earlier.pk]), _form(prod["v1.0"]))
    assert response.status_code == 403 and not Rollback.objects.exists()


def test_the_confirmation_of_an_earlier_release_rolls_back_what_is_live(prod: dict[str, Any]) -> None:
    response = _client(member("ona", role="on-call")).post(
        reverse("rollback-new", args=[prod["v1.1"].pk]), _form(prod["v1.0"])
    )
    assert response.status_code == 302
    assert Rollback.objects.get().from_release == prod["v1.2"]


def test_a_made_up_target_is_a_clear_400(prod: dict[str, Any]) -> None:
    response = _client(prod["olga"]).post(
        reverse("rollback-new", args=[prod["v1.2"].pk]), _form(prod["v1.0"]) | {"target": "abc"}
    )
    assert response.status_code == 400 and "Choose the release to go back to" in response.content.decode()


def test_changing_the_target_keeps_the_reason_and_the_key(prod: dict[str, Any]) -> None:
    body = (
        _client(prod["olga"])
        .get(
            reverse("rollback-new", args=[prod["v1.2"].pk]),
            {"target": prod["v1.1"].pk, "reason": "half typed", "idempotency_key": "k-123"},
            headers={"HX-Request": "true"},
        )
        .content.decode()
    )
    assert ">half typed</textarea>" in body and 'value="k-123"' in body


def test_a_request_the_worker_sees_too_late_is_not_sent(prod: dict[str, Any], settings: Any) -> None:

    settings.ROLLBACK_TIMEOUT_MINUTES = 20
    started = rollback_requested(
        release=prod["v1.2"],
        target=prod["v1.0"],
        user=prod["olga"],
        reason="x",
        idempotency_key="late",
        shown_live_id=None,
    ).rollback
    Rollback.objects.filter(pk=started.pk).update(requested_at=started.requested_at - timedelta(minutes=30))
    done = rollback_executed(rollback_id=started.pk, client=object())  # a client that would fail if used
    assert done.state == "failed" and "nothing was sent to GitHub" in done.error


def test_a_repository_gone_from_github_offers_no_rollback_and_refuses_one(prod: dict[str, Any]) -> None:
    from django.utils import timezone

    prod["repo"].gone_since = timezone.now()
    prod["repo"].save(update_fields=["gone_since"])
    oncall = _client(member("ona", role="on-call"))
    assert reverse("rollback-new", args=[prod["v1.2"].pk]) not in oncall.get(reverse("on-call")).content.decode()
    response = oncall.post(reverse("rollback-new", args=[prod["v1.2"].pk]), _form(prod["v1.0"]))
    assert response.status_code == 400 and "gone from GitHub" in response.content.decode()
    assert not Rollback.objects.exists()
