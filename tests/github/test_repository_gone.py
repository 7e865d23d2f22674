"""A repository GitHub no longer returns (it answers 404, or the organization no longer lists it) is shown as
gone everywhere, asked for once a day instead of at every sync, said so once in the log, and back when GitHub
returns it again."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from delivery.github.models import Repository, SyncRun
from delivery.github.repository_gone import NOT_LISTED
from delivery.github.sync import organization_repositories_sync, repository_sync

pytestmark = pytest.mark.django_db


def _on_call_card(body: str, repository: Repository) -> str:
    match = re.search(rf'aria-labelledby="oc-{repository.pk}">(.*?)</section>', body, re.S)
    assert match, "the repository has a card on the on-call page"
    return match.group(1)


def test_a_repository_that_answers_404_is_gone_everywhere_and_asked_for_once_a_day(
    simulator, gh_client, client, caplog
):
    org = simulator.world.org_login
    _, first = organization_repositories_sync(client=gh_client, org=org)
    gone = Repository.objects.get(full_name=next(r.full_name for r in simulator.world.repos.values() if r.gone))
    assert gone.pk in first, "listed, so asked for: GitHub has not said yet that it is gone"

    with caplog.at_level(logging.INFO, logger="delivery.github"):
        repository_sync(repository_id=gone.pk, client=gh_client)
    gone.refresh_from_db()
    assert gone.gone_since is not None and "404" in gone.unavailable_reason
    said = [r for r in caplog.records if r.levelno >= logging.WARNING and gone.full_name in r.getMessage()]
    assert len(said) == 1 and "once a day" in said[0].getMessage()

    _, again = organization_repositories_sync(client=gh_client, org=org)
    assert gone.pk not in again and len(again) == len(first) - 1, "not asked for again the same day"
    Repository.objects.filter(pk=gone.pk).update(gone_checked_at=timezone.now() - timedelta(hours=25))
    _, next_day = organization_repositories_sync(client=gh_client, org=org)
    assert gone.pk in next_day, "checked once a day"
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="delivery.github"):
        repository_sync(repository_id=gone.pk, client=gh_client)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], "said once, not every day"
    gone.refresh_from_db()
    assert gone.gone_checked_at > timezone.now() - timedelta(minutes=1)
    assert SyncRun.objects.filter(repository=gone, status=SyncRun.Status.SKIPPED).count() == 2

    listing = client.get(reverse("repositories")).content.decode()
    assert "gone from GitHub" in listing and "checked once a day" in listing
    page = client.get(reverse("repository", args=[gone.pk])).content.decode()
    assert "gone from GitHub" in page
    card = _on_call_card(client.get(reverse("on-call")).content.decode(), gone)
    assert "Gone from GitHub" in card and "Calm" not in card


def test_a_repository_the_organization_no_longer_lists_is_gone_until_it_is_listed_again(simulator, gh_client):
    org, world = simulator.world.org_login, simulator.world
    _, first = organization_repositories_sync(client=gh_client, org=org)
    _, unchanged = organization_repositories_sync(client=gh_client, org=org)
    assert sorted(unchanged) == sorted(first), "an unchanged list (every page 304) still knows what it holds"
    assert not Repository.objects.filter(gone_since__isnull=False).exists()

    with world.lock:
        transferred = world.repos.pop("billing")
    _, after = organization_repositories_sync(client=gh_client, org=org)
    billing = Repository.objects.get(github_id=transferred.id)
    assert billing.gone_since is not None and billing.unavailable_reason == NOT_LISTED
    assert billing.pk not in after

    with world.lock:
        world.repos["billing"] = transferred
    _, back = organization_repositories_sync(client=gh_client, org=org)
    billing.refresh_from_db()
    assert billing.gone_since is None and billing.unavailable_reason == ""
    assert billing.pk in back
