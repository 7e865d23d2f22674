"""The derivation on hand-built histories: stage times by position on main, releases and their owners."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from delivery.github.models import Deployment, DeploymentStatus, PullRequest, PullRequestCommit, Review
from delivery.pipeline.derive import repository_pipeline_derive
from delivery.pipeline.models import Change, Release, Stage
from tests.factories import CommitFactory, DeveloperFactory, PullRequestFactory, RepositoryFactory, TagFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=datetime.now().astimezone().tzinfo).astimezone()


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class History:
    """A repository's main line and what happened on it, built row by row."""

    def __init__(self) -> None:
        self.repo = RepositoryFactory()
        self.commits = [CommitFactory(repository=self.repo, main_position=0)]
        self._ids = iter(range(90_000, 99_999))

    def merge(self, author: Any, *, opened: float, merged: float, first_commit: float | None = None) -> PullRequest:
        commit = CommitFactory(repository=self.repo, main_position=len(self.commits))
        self.commits.append(commit)
        pr = PullRequestFactory(
            repository=self.repo,
            author=author,
            base_ref="main",
            state=PullRequest.State.CLOSED,
            created_at=at(opened),
            merged_at=at(merged),
            closed_at=at(merged),
            updated_at=at(merged),
            merge_commit_sha=commit.sha,
        )
        if first_commit is not None:
            PullRequestCommit.objects.create(pull_request=pr, sha=f"{pr.pk:040x}", authored_at=at(first_commit))
        return pr

    def review(self, pr: PullRequest, reviewer: Any, state: str, minutes: float) -> None:
        Review.objects.create(
            github_id=next(self._ids), pull_request=pr, author=reviewer, state=state, submitted_at=at(minutes)
        )

    def deploy(
        self, environment: str, position: int, minutes: float, *, state: str = "success", **extra: Any
    ) -> Deployment:
        deployment = Deployment.objects.create(
            github_id=next(self._ids),
            repository=self.repo,
            environment=environment,
            sha=self.commits[position].sha,
            created_at=at(minutes - 2),
            updated_at=at(minutes),
            state=state,
            state_at=at(minutes),
            **extra,
        )
        DeploymentStatus.objects.create(
            github_id=next(self._ids), deployment=deployment, state=state, created_at=at(minutes)
        )
        return deployment

    def derive(self, now: float = 10_000) -> Any:
        return repository_pipeline_derive(repository_id=self.repo.pk, now=at(now))


def change(pr: PullRequest) -> Change:
    return Change.objects.get(pull_request=pr)


def test_squash_merges_take_stage_times_from_the_first_deployment_containing_them() -> None:
    h = History()
    ana, ben = DeveloperFactory(login="ana"), DeveloperFactory(login="ben")
    first = h.merge(ana, opened=0, merged=60, first_commit=-120)
    second = h.merge(ben, opened=10, merged=70)
    h.review(first, ben, Review.State.COMMENTED, 20)
    h.review(first, ana, Review.State.COMMENTED, 15)  # the author's own comment is not a review
    h.review(first, ben, Review.State.APPROVED, 30)
    h.deploy("staging", 2, 80)  # contains both
    h.deploy("production", 1, 90)  # the first only
    h.deploy("production", 2, 120)
    TagFactory(repository=h.repo, name="v1.0.0", sha=h.commits[1].sha, created_at=at(85))

    h.derive()

    one = change(first)
    assert one.first_commit_at == at(-120)  # from the PR's own commits, not the squash commit
    assert (one.pr_opened_at, one.first_review_at, one.approved_at, one.merged_at) == (at(0), at(20), at(30), at(60))
    assert (one.staging_at, one.tagged_at, one.production_at) == (at(80), at(85), at(90))
    two = change(second)
    assert (two.staging_at, two.tagged_at, two.production_at) == (at(80), None, at(120))
    assert two.first_commit_at == at(10)  # no commits read: the PR's opening
    assert one.stage == two.stage == Stage.DONE


def test_each_release_brings_the_changes_since_the_previous_one_and_its_owners_are_their_authors() -> None:
    h = History()
    ana, ben, cy = DeveloperFactory(), DeveloperFactory(), DeveloperFactory()
    a = h.merge(ana, opened=0, merged=10)
    b = h.merge(ben, opened=0, merged=20)
    c = h.merge(cy, opened=0, merged=30)
    first = h.deploy("production", 2, 40)
    second = h.deploy("production", 3, 50)
    h.deploy("production", 3, 45, state="failure")  # a failed deploy is not a release

    h.derive()

    releases = {r.deployment_id: r for r in Release.objects.all()}
    assert set(releases) == {first.pk, second.pk}
    assert set(releases[first.pk].changes.all()) == {change(a), change(b)}
    assert set(releases[first.pk].owners.all()) == {ana, ben}
    assert list(releases[second.pk].changes.all()) == [change(c)]
    assert releases[second.pk].previous_release == releases[first.pk]


def test_a_rollback_brings_no_changes_and_moves_no_change_back() -> None:
    h = History()
    dev = DeveloperFactory()
    a = h.merge(dev, opened=0, merged=10)
    b = h.merge(dev, opened=0, merged=20)
    h.deploy("production", 1, 30)
    h.deploy("production", 2, 40)
    rollback = h.deploy("production", 1, 50)

    h.derive()

    release = Release.objects.get(deployment=rollback)
    assert release.is_rollback and not release.changes.exists()
    assert (change(a).production_at, change(b).production_at) == (at(30), at(40))


def test_a_tag_with_no_staging_success_is_tagged_and_a_failed_staging_deploy_counts_for_nothing() -> None:
    h = History()
    pr = h.merge(DeveloperFactory(), opened=0, merged=10)
    h.deploy("staging", 1, 20, state="failure")
    TagFactory(repository=h.repo, name="v2.0.0", sha=h.commits[1].sha, created_at=at(30))
    TagFactory(repository=h.repo, name="nightly", sha=h.commits[1].sha, created_at=at(25))  # not a release tag

    h.derive()

    assert (change(pr).staging_at, change(pr).tagged_at, change(pr).stage) == (None, at(30), Stage.TAGGED)


def test_a_tag_without_a_creation_time_takes_the_first_deployment_made_of_it() -> None:
    h = History()
    pr = h.merge(DeveloperFactory(), opened=0, merged=10)
    TagFactory(repository=h.repo, name="v3.0.0", sha=h.commits[1].sha, created_at=None)
    h.deploy("production", 1, 40, ref="v3.0.0")  # created 2 minutes before its success

    h.derive()

    assert change(pr).tagged_at == at(38)


def test_open_and_closed_pull_requests_have_their_stages() -> None:
    h = History()
    dev = DeveloperFactory()
    draft = PullRequestFactory(repository=h.repo, author=dev, base_ref="main", draft=True, created_at=at(0))
    ready = PullRequestFactory(repository=h.repo, author=dev, base_ref="main", created_at=at(0))
    closed = PullRequestFactory(repository=h.repo, author=dev, base_ref="main", state="closed", created_at=at(0))
    stacked = PullRequestFactory(repository=h.repo, author=dev, base_ref="feature-x", created_at=at(0))
    merged = h.merge(dev, opened=0, merged=10)
    h.deploy("production", 1, 30)

    h.derive(now=35)  # inside the 30-minute watch window

    assert change(draft).stage == Stage.IN_PROGRESS and change(draft).ready_at is None
    assert change(ready).stage == Stage.IN_REVIEW and change(ready).ready_at == at(0)
    assert change(closed).stage == Stage.CLOSED
    assert not Change.objects.filter(pull_request=stacked).exists()  # it does not land on main
    assert change(merged).stage == Stage.IN_PRODUCTION


def test_deriving_again_writes_nothing() -> None:
    h = History()
    dev = DeveloperFactory()
    h.merge(dev, opened=0, merged=10)
    h.deploy("production", 1, 30)
    first = h.derive()
    again = h.derive()
    assert (first.changes_written, first.releases_written) == (1, 1)
    assert (again.changes_written, again.releases_written) == (0, 0)


def _derivation_queries(merged_prs: int) -> tuple[int, int, int]:
    """Queries of a full derivation, of an incremental one with nothing new, and with a change merged and deployed."""
    h = History()
    h._ids = iter(range(1_000 * merged_prs, 1_000 * merged_prs + 999))  # two histories in one test
    dev = DeveloperFactory()
    for i in range(merged_prs):
        h.merge(dev, opened=i, merged=i + 1)
        if i % 5 == 4:
            h.deploy("production", len(h.commits) - 1, i + 2)
    h.derive()
    counts = []
    with CaptureQueriesContext(connection) as queries:
        repository_pipeline_derive(repository_id=h.repo.pk, now=at(20_000), full=True)
    counts.append(len(queries))
    with CaptureQueriesContext(connection) as queries:
        assert not h.derive(now=30_000).full
    counts.append(len(queries))
    h.merge(dev, opened=29_000, merged=30_001)
    h.deploy("production", len(h.commits) - 1, 30_002)
    with CaptureQueriesContext(connection) as queries:
        summary = h.derive(now=40_000)
    assert not summary.full and (summary.changes, summary.releases) == (1, 1)
    counts.append(len(queries))
    return counts[0], counts[1], counts[2]


def test_derivation_query_count_does_not_grow_with_the_history() -> None:
    assert _derivation_queries(5) == _derivation_queries(60)


def test_on_the_simulated_organization_every_change_in_production_came_with_exactly_one_release(
    github: Any, gh_client: Any
) -> None:
    from delivery.github.models import Repository
    from delivery.pipeline.models import ReleaseChange
    from tests.conftest import sync_all

    github.world.frozen_clock = github.world.clock()
    sync_all(gh_client, github.world.org_login)
    for repository in Repository.objects.filter(unavailable_reason=""):
        repository_pipeline_derive(repository_id=repository.pk)

    in_production = set(Change.objects.filter(production_at__isnull=False).values_list("pk", flat=True))
    released = list(ReleaseChange.objects.values_list("change_id", flat=True))
    assert in_production and sorted(released) == sorted(in_production)  # each once, none missing
    merged = Change.objects.filter(merged_at__isnull=False)
    assert merged.exclude(stage__in=[Stage.IN_PROGRESS, Stage.IN_REVIEW, Stage.CLOSED]).count() == merged.count()
    for release in Release.objects.prefetch_related("changes", "owners"):
        assert {c.author_id for c in release.changes.all() if c.author_id} == {o.pk for o in release.owners.all()}
    # The simulated team breaks its process now and then (merge commits, missing approvals), not always.
    failed = [name for checks in Change.objects.values_list("failed_checks", flat=True) for name in checks]
    assert {"merge_breach", "review_breach"} <= set(failed)
    assert failed.count("merge_breach") < merged.count() / 4
    # A change reaches staging, its tag and production in that order in the simulated process.
    for c in Change.objects.filter(production_at__isnull=False, staging_at__isnull=False):
        assert c.merged_at <= c.staging_at <= c.production_at


def test_the_first_asked_reviewer_owns_a_change_waiting_for_its_first_review() -> None:
    from delivery.github.models import ReviewRequest
    from delivery.pipeline.derive import repository_pipeline_derive
    from tests.factories import DeveloperFactory, PullRequestFactory, RepositoryFactory

    repo = RepositoryFactory(default_branch="main")
    ana, ben = DeveloperFactory(login="ana"), DeveloperFactory(login="ben")
    asked = PullRequestFactory(repository=repo, author=ana, base_ref="main", title="asked")
    PullRequestFactory(repository=repo, author=ana, base_ref="main", title="alone")
    ReviewRequest.objects.create(pull_request=asked, reviewer=ben)
    repository_pipeline_derive(repository_id=repo.pk)
    owners = {c.title: (c.next_owner.login if c.next_owner else None, c.next_action) for c in Change.objects.all()}
    assert owners == {"asked": ("ben", "Review it"), "alone": ("ana", "Ask a teammate to review it")}


def test_a_change_on_staging_and_not_tagged_yet_is_on_staging() -> None:
    h = History()
    pr = h.merge(DeveloperFactory(), opened=0, merged=10)
    h.deploy("staging", 1, 15)
    h.derive(now=16)
    assert change(pr).stage == Stage.ON_STAGING and change(pr).staging_at == at(15)
    TagFactory(repository=h.repo, name="v1.0.0", sha=h.commits[1].sha, created_at=at(16))
    h.derive(now=17)
    assert change(pr).stage == Stage.TAGGED and change(pr).tagged_at == at(16)
