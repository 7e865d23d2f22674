"""A rollback against a moving target (issue 12): the confirmation carries the live release it showed, and nothing
starts when production moved meanwhile; a rollback records every release it undoes, fails each with the reason,
ends their watches, and none of them is offered again; the pages say what a rollback undid, both ways."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from delivery.flows.rollbacks import rollbacks_followed
from delivery.flows.watches import watches_open
from delivery.monitoring.models import MonitoringSession
from delivery.pipeline.models import Release
from delivery.rollbacks.models import Rollback
from delivery.rollbacks.selectors import (
    changes_undone,
    last_known_good,
    live_release,
    releases_undone,
    rollback_targets,
)
from tests.conftest import member
from tests.rollbacks.helpers import history, release

pytestmark = pytest.mark.django_db


@pytest.fixture
def prod() -> dict[str, Any]:
    olga, pete = member("olga"), member("pete")
    return {"olga": olga, "pete": pete, "ona": member("ona", role="on-call"), **history(olga.developer, pete.developer)}


def _as(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _confirm(client: Client, page: Release, target: Release, live: Release, **headers: Any) -> Any:
    form = {"target": target.pk, "reason": "checkout 500s", "idempotency_key": uuid.uuid4().hex, "live": live.pk}
    return client.post(reverse("rollback-new", args=[page.pk]), form, headers=headers)


def _ship(prod: dict[str, Any], tag: str, minutes_ago: int = 1, owners: list[Any] | None = None) -> Release:
    owners = owners if owners is not None else [prod["pete"].developer]
    return release(prod["repo"], tag, at=prod["now"] - timedelta(minutes=minutes_ago), owners=owners)


@pytest.mark.parametrize("htmx", [False, True])
def test_a_rollback_confirmed_for_a_release_no_longer_live_starts_nothing_and_asks_again(
    prod: dict[str, Any], htmx: bool
) -> None:
    client = _as(prod["ona"])
    shown = client.get(reverse("rollback-new", args=[prod["v1.2"].pk])).content.decode()
    assert f'name="live" value="{prod["v1.2"].pk}"' in shown  # the form carries what it showed
    v13 = _ship(prod, "v1.3")  # the team ships while the panel is open
    headers = {"HX-Request": "true"} if htmx else {}
    answer = _confirm(client, prod["v1.2"], prod["v1.0"], live=prod["v1.2"], **headers)
    body = answer.content.decode()
    assert answer.status_code == 409
    assert not Rollback.objects.exists()
    assert not Release.objects.get(pk=v13.pk).failed and not Release.objects.get(pk=prod["v1.2"].pk).failed
    assert "Nothing was started" in body and "v1.3 is live now" in body
    assert f'name="live" value="{v13.pk}"' in body  # the form now carries the new live release
    assert "v1.3 change 0 by pete" in body  # and the new list of what is undone
    if htmx:
        assert body.lstrip().startswith('<section id="rollback-form"')
    again = _confirm(client, prod["v1.2"], prod["v1.0"], live=v13)
    assert again.status_code == 302 and Rollback.objects.get().from_release == v13


def test_changing_the_target_in_a_panel_opened_before_production_moved_says_so(prod: dict[str, Any]) -> None:
    v13 = _ship(prod, "v1.3")
    body = (
        _as(prod["ona"])
        .get(
            reverse("rollback-new", args=[prod["v1.2"].pk]),
            {"target": prod["v1.0"].pk, "live": prod["v1.2"].pk},
            headers={"HX-Request": "true"},
        )
        .content.decode()
    )
    assert "Production moved while this was open" in body and f'value="{v13.pk}"' in body


def test_a_form_that_does_not_say_what_it_showed_starts_nothing(prod: dict[str, Any]) -> None:
    form = {"target": prod["v1.0"].pk, "reason": "x", "idempotency_key": "k1"}
    answer = _as(prod["ona"]).post(reverse("rollback-new", args=[prod["v1.2"].pk]), form)
    assert answer.status_code == 409 and not Rollback.objects.exists()


def test_a_rollback_records_fails_and_retires_every_release_it_undoes(prod: dict[str, Any]) -> None:
    v13 = _ship(prod, "v1.3")
    watches_open(repository_id=prod["repo"].pk)
    assert [r.tag_name for r in releases_undone(v13, prod["v1.0"])] == ["v1.3", "v1.2", "v1.1"]
    assert _confirm(_as(prod["ona"]), v13, prod["v1.0"], live=v13).status_code == 302
    rollback = Rollback.objects.get()
    undone = {r.tag_name for r in rollback.releases_undone.all()}
    assert undone == {"v1.3", "v1.2", "v1.1"}
    for tag in ("v1.3", "v1.2"):
        made = Release.objects.get(repository=prod["repo"], tag_name=tag)
        assert made.failed and made.failure_reason == "Rolled back: checkout 500s"
    assert Release.objects.get(pk=prod["v1.1"].pk).failure_reason == "broke"  # the first failure's reason is kept
    # None of them is a target or the last known good again once the rollback is live, and their watches end
    # by themselves: "rolled back", by who asked, with why.
    rollback_release = _rollback_goes_live(prod, rollback)
    for session in MonitoringSession.objects.filter(releases__in=[v13, prod["v1.2"]]).distinct():
        assert session.decision == "rolled_back" and session.signed_off_by == prod["ona"]
        assert session.notes == "Rolled back: checkout 500s"
    assert not MonitoringSession.objects.filter(signed_off_at__isnull=True).exists()
    assert live_release(prod["repo"]) == rollback_release
    assert {t.tag_name for t in rollback_targets(rollback_release)} & undone == set()
    v14 = _ship(prod, "v1.4", minutes_ago=0)
    assert {t.tag_name for t in rollback_targets(v14)} & undone == set()
    assert last_known_good(v14).sha == prod["v1.0"].sha
    assert [r.tag_name for r in releases_undone(v14, last_known_good(v14))] == ["v1.4"]
    assert {c.title for c in changes_undone(v14, last_known_good(v14))} == {"v1.4 change 0 by pete"}


def _rollback_goes_live(prod: dict[str, Any], rollback: Rollback) -> Release:
    """GitHub deploys the target again: a release of v1.0's sha, a rollback; the rollback follows it to success."""
    from delivery.github.models import DeploymentStatus

    again = _redeploy(prod, "v1.0")
    deployment = again.deployment
    Rollback.objects.filter(pk=rollback.pk).update(state="dispatched", dispatched_at=prod["now"])
    deployment.state = "success"
    deployment.created_at = prod["now"]
    deployment.save()
    DeploymentStatus.objects.create(
        deployment=deployment, github_id=deployment.github_id, state="success", created_at=prod["now"]
    )
    rollbacks_followed(repository_id=prod["repo"].pk, now=prod["now"] + timedelta(minutes=1))
    rollback.refresh_from_db()
    assert rollback.state == "succeeded"
    assert set(Release.objects.filter(undone_by=rollback).values_list("state", flat=True)) == {"rolled_back"}
    return again


def _redeploy(prod: dict[str, Any], tag: str) -> Release:
    from tests.factories import DeploymentFactory

    first = Release.objects.get(repository=prod["repo"], tag_name=tag, is_rollback=False)
    at = prod["now"] + timedelta(seconds=30)
    deployment = DeploymentFactory(repository=prod["repo"], sha=first.sha, ref=tag, created_at=at, state_at=at)
    return Release.objects.create(
        repository=prod["repo"],
        deployment=deployment,
        environment="production",
        sha=first.sha,
        tag_name=tag,
        state=Release.State.SUCCEEDED,
        deployed_at=at,
        is_rollback=True,
    )


def test_each_version_is_a_target_once(prod: dict[str, Any]) -> None:
    again = _redeploy(prod, "v1.0")  # v1.0 deployed a second time (a rollback long ago)
    Release.objects.filter(pk=again.pk).update(deployed_at=prod["v1.1"].deployed_at - timedelta(hours=1))
    v13 = _ship(prod, "v1.3")
    tags = [t.tag_name for t in rollback_targets(v13)]
    assert tags == ["v1.2", "v1.1", "v1.0"]
    page = _as(prod["ona"]).get(reverse("rollback-new", args=[v13.pk])).content.decode()
    assert page.count(">v1.0 · ") == 1


def test_the_pages_say_what_a_rollback_undid_both_ways(prod: dict[str, Any]) -> None:
    assert _confirm(_as(prod["ona"]), prod["v1.2"], prod["v1.0"], live=prod["v1.2"]).status_code == 302
    rollback = Rollback.objects.get()
    rollback_release = _rollback_goes_live(prod, rollback)
    client = _as(prod["olga"])
    page = client.get(reverse("rollback", args=[rollback.pk])).content.decode()
    assert "What it undoes" in page
    for undone in (prod["v1.2"], prod["v1.1"]):
        assert reverse("release", args=[undone.pk]) in page
        undone_page = client.get(reverse("release", args=[undone.pk])).content.decode()
        assert reverse("rollback", args=[rollback.pk]) in undone_page and "Rolled back to v1.0" in undone_page
    itself = client.get(reverse("release", args=[rollback_release.pk])).content.decode()
    assert "a rollback to v1.0" in itself and "ona" in itself and "checkout 500s" in itself
    assert reverse("rollback", args=[rollback.pk]) in itself and reverse("release", args=[prod["v1.2"].pk]) in itself
    assert reverse("release", args=[rollback_release.pk]) in page  # and the rollback page links its release


def test_an_overlong_reason_is_refused_in_words(prod: dict[str, Any]) -> None:
    form = {"target": prod["v1.0"].pk, "reason": "x" * 2001, "idempotency_key": "k", "live": prod["v1.2"].pk}
    answer = _as(prod["ona"]).post(reverse("rollback-new", args=[prod["v1.2"].pk]), form)
    assert answer.status_code == 400 and "keep it under 2,000" in answer.content.decode()
    assert not Rollback.objects.exists()


def test_when_production_moved_the_default_target_moves_and_a_chosen_one_stays_saying_so(prod: dict[str, Any]) -> None:
    """The 409 answer: a form left on its default (the old live release's last known good) comes back on the new
    last known good; a target the person chose stays, and the answer says what the last known good is now."""
    client = _as(prod["ona"])
    v13 = _ship(prod, "v1.3")
    Release.objects.filter(pk=prod["v1.2"].pk).update(watch_state=Release.Watch.DONE)  # known good: watch done
    answer = _confirm(client, prod["v1.2"], prod["v1.0"], live=prod["v1.2"], HX_Request="true")
    body = answer.content.decode()
    assert answer.status_code == 409 and f'<option value="{prod["v1.2"].pk}" selected' in body
    assert "The target is now the last known good, v1.2." in body and "Roll back to v1.2" in body
    chosen = _confirm(client, prod["v1.2"], prod["v1.1"], live=prod["v1.2"])
    body = chosen.content.decode()
    assert chosen.status_code == 409 and f'<option value="{prod["v1.1"].pk}" selected' in body
    assert "Kept your choice, v1.1; the last known good is now v1.2." in body
    assert not Rollback.objects.exists() and live_release(prod["repo"]) == v13
