"""Hand-built histories for the figures: the mirror written row by row (pull requests with their own commits and
reviews, commits on main, deployments and tags), then derived by the real derivation, then marked as the flows mark
releases (failed by a rollback or a sign-off, fixed by a later release)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from delivery.github.models import Commit, Deployment, DeploymentStatus, PullRequest, PullRequestCommit, Review
from delivery.metrics.scope import Scope
from delivery.monitoring.models import MonitoringSession, WatchedRelease
from delivery.pipeline.derive import repository_pipeline_derive
from delivery.pipeline.models import Change, Release
from delivery.pipeline.services import release_mark_failed, releases_watch_done
from tests.factories import CommitFactory, PullRequestFactory, RepositoryFactory, TagFactory

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=ZoneInfo("UTC"))  # a Monday
WEEK = (date(2026, 11, 2), date(2026, 11, 8))
HOUR = 60.0
DAY = 24 * HOUR


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class History:
    """One repository's main line and what happened on it, in minutes from T0."""

    def __init__(self, **repository: Any) -> None:
        self.repo = RepositoryFactory(**repository)
        self.commits = [CommitFactory(repository=self.repo, main_position=0)]
        self._ids = iter(range(900_000, 999_999))

    def merge(
        self,
        author: Any,
        *,
        opened: float,
        merged: float,
        first_commit: float,
        reviews: tuple[tuple[Any, float], ...] = (),
        merge_commit: bool = False,
        **pr: Any,
    ) -> PullRequest:
        """A pull request merged onto main: squashed into one commit, or by a merge commit (two parents)."""
        parents = [self.commits[-1].sha] + ([f"{next(self._ids):040x}"] if merge_commit else [])
        commit = CommitFactory(repository=self.repo, main_position=len(self.commits), parent_shas=parents)
        self.commits.append(commit)
        pr.setdefault("additions", 30)
        pr.setdefault("deletions", 10)
        pull = PullRequestFactory(
            repository=self.repo,
            author=author,
            base_ref="main",
            state=PullRequest.State.CLOSED,
            created_at=at(opened),
            merged_at=at(merged),
            closed_at=at(merged),
            merge_commit_sha=commit.sha,
            **pr,
        )
        PullRequestCommit.objects.create(pull_request=pull, sha=f"{next(self._ids):040x}", authored_at=at(first_commit))
        for reviewer, minutes in reviews:
            Review.objects.create(
                github_id=next(self._ids),
                pull_request=pull,
                author=reviewer,
                state=Review.State.APPROVED,
                commit_sha=pull.head_sha,
                submitted_at=at(minutes),
            )
        return pull

    def position(self, pr: PullRequest) -> int:
        return Commit.objects.get(repository=self.repo, sha=pr.merge_commit_sha).main_position or 0

    def deploy(self, environment: str, position: int, minutes: float, *, state: str = "success") -> Deployment:
        deployment = Deployment.objects.create(
            github_id=next(self._ids),
            repository=self.repo,
            environment=environment,
            production_environment=environment == "production",
            sha=self.commits[position].sha,
            created_at=at(minutes - 2),
            updated_at=at(minutes),
            state=state,
            state_at=at(minutes),
        )
        DeploymentStatus.objects.create(
            github_id=next(self._ids), deployment=deployment, state=state, created_at=at(minutes)
        )
        return deployment

    def tag(self, name: str, position: int, minutes: float) -> None:
        TagFactory(repository=self.repo, name=name, sha=self.commits[position].sha, created_at=at(minutes))

    def derive(self, now: float = 7 * DAY) -> None:
        repository_pipeline_derive(repository_id=self.repo.pk, now=at(now))

    def watch(
        self, release: Release, owner: Any, *, ends: float, signed_off: float, reminded: float | None = None
    ) -> None:
        """The owner's watch of a release, signed off "keep" (after a reminder when `reminded`)."""
        session = MonitoringSession.objects.create(
            release=release,
            owner=owner,
            window_starts_at=release.deployed_at,
            window_ends_at=at(ends),
            signed_off_at=at(signed_off),
            decision=MonitoringSession.Decision.KEEP,
            owner_alerted_at=None if reminded is None else at(reminded),
        )
        WatchedRelease.objects.create(session=session, release=release, owner=owner, joined_at=release.deployed_at)
        releases_watch_done(release_ids=[release.pk], now=at(signed_off))  # as the sign-off's flow does

    def release_of(self, deployment: Deployment) -> Release:
        self.derive()
        return self.release(deployment)

    def release(self, deployment: Deployment) -> Release:
        return Release.objects.get(deployment=deployment)

    def fail(self, deployment: Deployment, reason: str, minutes: float) -> Release:
        """Marked failed as the flows do (a rollback undid it, or its watch was signed off "roll back")."""
        release = self.release(deployment)
        release_mark_failed(release, reason=reason, now=at(minutes))
        return release

    def scope(self, **extra: Any) -> Scope:
        return Scope(WEEK[0], WEEK[1], (self.repo,), **extra)


def change(pr: PullRequest) -> Change:
    return Change.objects.get(pull_request=pr)
