"""Each role and each action that changes something: allowed, or 403 and nothing changed (docs/design.md's table)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from delivery.accounts.models import AuditEvent, Developer, OnCallRotation, OnCallShift, Role
from delivery.accounts.roles import role_of
from delivery.github.models import WebhookDelivery
from tests.conftest import member
from tests.factories import RepositoryFactory, WebhookDeliveryFactory

pytestmark = pytest.mark.django_db


@dataclass
class Action:
    """`run` does the request and returns its response; `happened` says whether its effect is there."""

    run: Callable[[Client], Any]
    happened: Callable[[], bool]


def _sync(client: Client, captured: list[Any]) -> Any:
    """Ask for a sync; what it queues on commit is kept in `captured`, not run (the sync is tested elsewhere)."""
    from django.test import TestCase

    repo = RepositoryFactory()
    with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
        response = client.post(reverse("repository-sync", args=[repo.pk]))
    captured.extend(callbacks)
    return response


def _actions() -> dict[str, Callable[[], Action]]:
    def sync() -> Action:
        captured: list[Any] = []
        return Action(lambda c: _sync(c, captured), lambda: bool(captured))

    def replay() -> Action:
        delivery = WebhookDeliveryFactory(outcome=WebhookDelivery.Outcome.FAILED)
        return Action(
            lambda c: c.post(reverse("webhook-delivery-replay", args=[delivery.pk])),
            lambda: WebhookDelivery.objects.get(pk=delivery.pk).outcome != WebhookDelivery.Outcome.FAILED,
        )

    def role_change() -> Action:
        other = member("someone", role="viewer")
        return Action(
            lambda c: c.post(reverse("role-change"), {"user": other.pk, "role": "on-call"}),
            lambda: role_of(get_user_model().objects.get(pk=other.pk)) == Role.ON_CALL,
        )

    def rotation() -> Action:
        member("pat", role="developer")
        today = timezone.localdate().isoformat()
        return Action(
            lambda c: c.post(reverse("rotation-change"), {"members": "pat", "starts_on": today, "handover_hour": 9}),
            lambda: OnCallRotation.objects.exists(),
        )

    def override() -> Action:
        member("pat", role="developer")
        start = timezone.localtime().replace(tzinfo=None, microsecond=0)
        form = {"login": "pat", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=8)).isoformat()}
        return Action(lambda c: c.post(reverse("override-add"), form), lambda: OnCallShift.objects.exists())

    def override_remove() -> Action:
        pat = Developer.objects.get(pk=member("pat", role="developer").developer.pk)
        now = timezone.now()
        shift = OnCallShift.objects.create(developer=pat, starts_at=now, ends_at=now + timedelta(hours=1))
        return Action(
            lambda c: c.post(reverse("override-remove", args=[shift.pk])),
            lambda: not OnCallShift.objects.filter(pk=shift.pk).exists(),
        )

    def repository_settings() -> Action:
        from tests.github.test_repository_settings import _form_data

        repo = RepositoryFactory()
        form = _form_data(repo, slack_channel="#changed")
        return Action(
            lambda c: c.post(reverse("repository-settings", args=[repo.pk]), form),
            lambda: type(repo).objects.get(pk=repo.pk).slack_channel == "#changed",
        )

    return {
        "sync a repository": sync,
        "change repository settings": repository_settings,
        "replay a webhook delivery": replay,
        "change a role": role_change,
        "set the on-call rotation": rotation,
        "add an on-call override": override,
        "remove an on-call override": override_remove,
    }


ALLOWED = {
    "sync a repository": {"developer", "on-call", "admin"},
    "change repository settings": {"admin"},
    "replay a webhook delivery": {"admin"},
    "change a role": {"admin"},
    "set the on-call rotation": {"admin"},
    "add an on-call override": {"admin"},
    "remove an on-call override": {"admin"},
}
ROLES = ["viewer", "developer", "on-call", "admin"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ALLOWED))
def test_role_permissions(role: str, action: str) -> None:
    client = Client()
    client.force_login(member(f"as-{role}", role=role))
    audit_before = AuditEvent.objects.exclude(verb=AuditEvent.Verb.SIGN_IN).count()
    act = _actions()[action]()

    response = act.run(client)

    if role in ALLOWED[action]:
        assert response.status_code in (200, 204, 302), (role, action, response.status_code)
        assert act.happened(), (role, action)
    else:
        assert response.status_code == 403, (role, action, response.status_code)
        assert not act.happened(), (role, action)
        assert AuditEvent.objects.exclude(verb=AuditEvent.Verb.SIGN_IN).count() == audit_before


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_the_pages(role: str) -> None:
    client = Client()
    client.force_login(member(f"as-{role}", role=role))
    for name in ("board", "team", "repositories", "my-queue"):
        assert client.get(reverse(name)).status_code == 200, (role, name)
    admin_pages = (
        client.get(reverse("team-settings")).status_code,
        client.get(reverse("webhook-deliveries")).status_code,
    )
    assert admin_pages == ((200, 200) if role == "admin" else (403, 403))


def test_a_user_without_a_role_changes_nothing() -> None:
    client = Client()
    client.force_login(member("nobody", role=None))
    act = _actions()["sync a repository"]()
    assert act.run(client).status_code == 403 and not act.happened()


def test_a_refusal_is_a_page_of_the_app_that_says_why() -> None:
    client = Client()
    client.force_login(member("dev", role="developer"))
    response = client.get(reverse("team-settings"))
    body = response.content.decode()
    assert response.status_code == 403
    assert "Your role (developer) does not allow changing roles and the on-call rotation: only admins can." in body
    assert 'class="topbar"' in body  # the app's own layout, with a way back
    missing = client.get("/changes/987654/")
    assert missing.status_code == 404 and "Nothing here" in missing.content.decode()


def test_a_refusal_says_what_was_refused_and_which_admin_to_ask() -> None:
    from tests.factories import RepositoryFactory

    member("ada", role="admin")
    member("oscar", role="on-call")
    client = Client()
    client.force_login(member("dev", role="developer"))
    repository = RepositoryFactory()
    response = client.get(reverse("repository-settings", args=[repository.pk]))
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.content.decode())))
    assert response.status_code == 403
    assert "Your role (developer) does not allow changing a repository's delivery settings: only admins can." in text
    assert "Roles are given by an admin, in Settings: ask ada." in text
    assert text.count("does not allow") == 1 and "manage team" not in text
    viewer = Client()
    viewer.force_login(member("val", role="viewer"))
    sync = viewer.post(reverse("repository-sync", args=[repository.pk]))
    assert "Your role (viewer) does not allow asking for a sync: developers, on-call and admins can." in (
        sync.content.decode()
    )
