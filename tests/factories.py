"""factory_boy factories for the mirror and the people in it."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from delivery.accounts.models import Developer
from delivery.github.models import Commit, Deployment, PullRequest, Repository, SyncRun, Tag, WebhookDelivery


class DeveloperFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Developer

    github_id = factory.Sequence(lambda n: 10_000 + n)
    login = factory.Sequence(lambda n: f"dev{n}")


class RepositoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Repository

    github_id = factory.Sequence(lambda n: 20_000 + n)
    owner = "acme"
    name = factory.Sequence(lambda n: f"repo{n}")
    full_name = factory.LazyAttribute(lambda o: f"{o.owner}/{o.name}")


class PullRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PullRequest

    github_id = factory.Sequence(lambda n: 30_000 + n)
    repository = factory.SubFactory(RepositoryFactory)
    number = factory.Sequence(lambda n: n + 1)
    title = factory.Sequence(lambda n: f"Change number {n}")
    author = factory.SubFactory(DeveloperFactory)
    state = PullRequest.State.OPEN
    created_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=5))
    updated_at = factory.LazyFunction(timezone.now)


class CommitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Commit

    repository = factory.SubFactory(RepositoryFactory)
    sha = factory.Sequence(lambda n: f"{n:040x}")
    message = factory.Sequence(lambda n: f"Commit {n}")


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    repository = factory.SubFactory(RepositoryFactory)
    name = factory.Sequence(lambda n: f"v1.0.{n}")
    sha = factory.Sequence(lambda n: f"{n:040x}")


class DeploymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deployment

    github_id = factory.Sequence(lambda n: 40_000 + n)
    repository = factory.SubFactory(RepositoryFactory)
    environment = "production"
    production_environment = True
    sha = factory.Sequence(lambda n: f"{n:040x}")
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)
    state = "success"


class SyncRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncRun

    repository = factory.SubFactory(RepositoryFactory)
    status = SyncRun.Status.SUCCEEDED
    finished_at = factory.LazyFunction(timezone.now)


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    guid = factory.Sequence(lambda n: f"00000000-0000-0000-0000-{n:012d}")
    event = "pull_request"
    action = "opened"
    repository_full_name = "acme/api"
    outcome = WebhookDelivery.Outcome.PROCESSED
    result = "acme/api#1 opened"
    body = b'{"action": "opened"}'
