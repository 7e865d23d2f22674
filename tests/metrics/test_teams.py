"""The organization's GitHub teams and their members, read from GitHub (the simulator, through the real client) with
the membership sweep and the first sync; team figures count the work of the team's members."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from delivery.accounts.models import Team
from delivery.github.members import teams_sync
from delivery.metrics.figures import metrics
from delivery.metrics.scope import scope_from
from tests.conftest import member
from tests.factories import DeveloperFactory
from tests.metrics.history import WEEK, History

pytestmark = pytest.mark.django_db


def test_the_teams_and_their_members_are_read_from_github_and_follow_it(github: Any, gh_client: Any) -> None:
    world = github.world

    assert teams_sync(gh_client) == len(world.teams)

    for team in world.teams:
        stored = Team.objects.get(slug=team.slug)
        assert stored.github_id == team.id and stored.name == team.name
        assert set(stored.members.values_list("login", flat=True)) == {u.login for u in team.members}
    gone, changed = world.teams[0], world.teams[1]
    world.teams.remove(gone)
    left = changed.members.pop()

    teams_sync(gh_client)

    assert not Team.objects.filter(slug=gone.slug).exists()
    assert left.login not in set(Team.objects.get(slug=changed.slug).members.values_list("login", flat=True))


def test_a_persons_page_names_their_teams() -> None:
    tess = member("tess").developer
    team = Team.objects.create(github_id=1, slug="payments", name="Payments", synced_at="2026-11-01T00:00Z")
    team.members.add(tess)
    otto = Client()
    otto.force_login(member("otto"))

    page = otto.get("/people/tess/").content.decode()

    assert "Payments" in page and "?team=payments" in page
    assert "Their figures" not in page  # one person's figures are theirs and the admins'


def test_team_figures_count_the_work_of_its_members() -> None:
    h = History()
    ana, ben = DeveloperFactory(login="ana"), DeveloperFactory(login="ben")
    team = Team.objects.create(github_id=2, slug="web", name="Web", synced_at="2026-11-01T00:00Z")
    team.members.add(ana)
    h.merge(ana, opened=0, merged=30, first_commit=-30)
    h.merge(ben, opened=0, merged=60, first_commit=-90)
    h.deploy("production", 1, 40)
    h.deploy("production", 2, 70)
    h.derive()

    figures = metrics(scope_from({"from": WEEK[0].isoformat(), "to": WEEK[1].isoformat(), "team": "web"}))

    assert figures["lead_time"]["changes"] == 1 and figures["lead_time"]["median_seconds"] == 70 * 60
    assert figures["deployment_frequency"]["deployments"] == 1


def test_a_failed_deployment_belongs_to_the_authors_of_the_changes_it_would_have_brought() -> None:
    # The CI bot creates every deployment: a failed one has no release and no owners, so it counts for the teams
    # whose members wrote the changes it carried (merged at or before its commit, not yet in production).
    h = History()
    ana, ben = DeveloperFactory(login="ana"), DeveloperFactory(login="ben")
    bot = DeveloperFactory(login="deployer[bot]")
    web = Team.objects.create(github_id=3, slug="web", name="Web", synced_at="2026-11-01T00:00Z")
    api = Team.objects.create(github_id=4, slug="api", name="API", synced_at="2026-11-01T00:00Z")
    web.members.add(ana)
    api.members.add(ben)
    h.merge(ben, opened=0, merged=30, first_commit=-30)
    h.deploy("production", 1, 40)  # ben's change is live
    h.merge(ana, opened=50, merged=60, first_commit=45)
    failed = h.deploy("production", 2, 70, state="failure")  # would have brought ana's change only
    failed.creator = bot
    failed.save()
    h.derive()

    def failure_rate(team: str) -> dict[str, Any]:
        return metrics(scope_from({"from": WEEK[0].isoformat(), "to": WEEK[1].isoformat(), "team": team}))[
            "change_failure_rate"
        ]

    assert (failure_rate("web")["failed"], failure_rate("web")["releases"]) == (1, 1)
    assert (failure_rate("api")["failed"], failure_rate("api")["releases"]) == (0, 1)
    bots = Team.objects.create(github_id=5, slug="bots", name="Bots", synced_at="2026-11-01T00:00Z")
    bots.members.add(bot)
    assert failure_rate("bots")["failed"] == 0  # creating the deployment is not owning what it carried
