"""GitHub sign-in through the simulator's OAuth pages, over real HTTP: allauth's GitHub provider unchanged."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.urls import reverse

from delivery.accounts.models import AuditEvent, Developer, Role
from delivery.accounts.roles import role_of
from delivery.simulator.server import SimulatorServer

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def team(oauth_github: SimulatorServer, settings: Any) -> SimulatorServer:
    settings.GITHUB_ORG = oauth_github.world.org_login
    settings.TRUNKLINE_ALLOWED_LOGINS = []
    settings.TRUNKLINE_ADMIN_LOGINS = []
    return oauth_github


def _start(client: Any, next_url: str | None = None) -> str:
    """Press "Sign in with GitHub": the POST that sends the browser to GitHub's authorize page."""
    url = reverse("github_login") + (f"?next={next_url}" if next_url else "")
    response = client.post(url)
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def _authorize(authorize_url: str, login: str) -> str:
    """On GitHub's page, choose the account: GitHub redirects back with a code and the state."""
    response = requests.get(authorize_url + "&login=" + login, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:500]
    return response.headers["Location"]


def _callback(client: Any, callback_url: str) -> Any:
    parts = urlsplit(callback_url)
    return client.get(parts.path, parse_qs(parts.query))


def _sign_in(client: Any, login: str, next_url: str | None = None) -> Any:
    return _callback(client, _authorize(_start(client, next_url), login))


def _member(team: SimulatorServer) -> Any:
    return sorted(team.world.members, key=lambda u: u.login)[0]


def test_a_member_signs_in_is_linked_to_their_developer_and_gets_the_default_role(
    anonymous_client: Any, team: SimulatorServer
) -> None:
    person = _member(team)
    seen_by_sync = Developer.objects.create(github_id=person.id, login=person.login)

    authorize = _start(anonymous_client, "/team/")
    assert authorize.startswith(team.url + "/login/oauth/authorize?")
    query = parse_qs(urlsplit(authorize).query)
    assert set(query["scope"][0].split()) == {"read:user", "user:email", "read:org"} and query["state"][0]
    response = _callback(anonymous_client, _authorize(authorize, person.login))

    assert response.status_code == 302 and response["Location"] == "/team/"
    user = User.objects.get(username=person.login)
    assert anonymous_client.get(reverse("team")).status_code == 200  # signed in
    seen_by_sync.refresh_from_db()
    assert seen_by_sync.user == user and Developer.objects.filter(github_id=person.id).count() == 1
    assert role_of(user) == Role.DEVELOPER
    event = AuditEvent.objects.get(verb=AuditEvent.Verb.SIGN_IN)
    assert event.actor == user and "GitHub" in event.summary


def test_a_person_the_sync_has_not_seen_gets_a_developer_record(anonymous_client: Any, team: SimulatorServer) -> None:
    person = _member(team)
    _sign_in(anonymous_client, person.login)
    developer = Developer.objects.get(github_id=person.id)
    assert developer.login == person.login and developer.user.username == person.login


def test_a_non_member_is_turned_away_and_no_account_is_made(anonymous_client: Any, team: SimulatorServer) -> None:
    outsider = team.world.outsider
    response = _sign_in(anonymous_client, outsider.login)

    assert response.status_code == 403
    body = response.content.decode()
    assert f"{outsider.login} is not a member of {team.world.org_login}" in body
    assert not User.objects.exists() and not Developer.objects.filter(github_id=outsider.id).exists()
    assert anonymous_client.get(reverse("team")).status_code == 302  # still signed out
    refused = AuditEvent.objects.get(verb=AuditEvent.Verb.SIGN_IN_REFUSED)
    assert refused.actor_login == outsider.login and team.world.org_login in refused.summary


def test_the_allow_list_lets_a_non_member_in(anonymous_client: Any, team: SimulatorServer, settings: Any) -> None:
    settings.TRUNKLINE_ALLOWED_LOGINS = [team.world.outsider.login.upper()]
    response = _sign_in(anonymous_client, team.world.outsider.login)
    assert response.status_code == 302
    assert User.objects.filter(username=team.world.outsider.login).exists()


def test_an_admin_login_becomes_admin(anonymous_client: Any, team: SimulatorServer, settings: Any) -> None:
    person = _member(team)
    settings.TRUNKLINE_ADMIN_LOGINS = [person.login]
    _sign_in(anonymous_client, person.login)
    assert role_of(User.objects.get(username=person.login)) == Role.ADMIN


def test_a_wrong_state_signs_no_one_in(anonymous_client: Any, team: SimulatorServer) -> None:
    back = _authorize(_start(anonymous_client), _member(team).login)
    forged = back.replace("state=", "state=x")
    response = _callback(anonymous_client, forged)
    assert response.status_code == 401 and "Sign-in did not complete" in response.content.decode()
    assert not User.objects.exists()
    assert anonymous_client.get(reverse("team")).status_code == 302


def test_a_missing_state_signs_no_one_in(anonymous_client: Any, team: SimulatorServer) -> None:
    back = _authorize(_start(anonymous_client), _member(team).login)
    parts = urlsplit(back)
    code = parse_qs(parts.query)["code"]
    response = anonymous_client.get(parts.path, {"code": code})
    assert "Sign-in did not complete" in response.content.decode()
    assert not User.objects.exists()


def test_a_replayed_state_signs_no_one_in(anonymous_client: Any, team: SimulatorServer) -> None:
    back = _authorize(_start(anonymous_client), _member(team).login)
    assert _callback(anonymous_client, back).status_code == 302  # signed in
    anonymous_client.post(reverse("account_logout"))
    assert anonymous_client.get(reverse("team")).status_code == 302  # signed out

    replay = _callback(anonymous_client, back)
    assert "Sign-in did not complete" in replay.content.decode()
    assert anonymous_client.get(reverse("team")).status_code == 302
    assert AuditEvent.objects.filter(verb=AuditEvent.Verb.SIGN_IN).count() == 1


def test_a_state_from_another_browser_signs_no_one_in(anonymous_client: Any, team: SimulatorServer) -> None:
    from django.test import Client

    back = _authorize(_start(anonymous_client), _member(team).login)
    attacker_victim = Client()  # the victim's browser, lured to the attacker's callback URL
    response = _callback(attacker_victim, back)
    assert "Sign-in did not complete" in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.parametrize("evil", ["https://evil.example/", "//evil.example/path", "http://testserver.evil.example/"])
def test_next_never_leaves_the_site(anonymous_client: Any, team: SimulatorServer, evil: str) -> None:
    response = _sign_in(anonymous_client, _member(team).login, next_url=evil)
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_sign_in_starts_only_with_a_post(anonymous_client: Any, team: SimulatorServer) -> None:
    response = anonymous_client.get(reverse("github_login"))
    assert response.status_code == 200  # a "Continue" form, not a redirect to GitHub
    assert "Continue" in response.content.decode()


def test_sign_out_is_a_post_and_is_recorded(anonymous_client: Any, team: SimulatorServer) -> None:
    _sign_in(anonymous_client, _member(team).login)
    anonymous_client.post(reverse("account_logout"))
    assert AuditEvent.objects.filter(verb=AuditEvent.Verb.SIGN_OUT).count() == 1
    assert anonymous_client.get(reverse("board")).status_code == 302


def test_the_login_page_offers_github_and_names_the_org(anonymous_client: Any, team: SimulatorServer) -> None:
    body = anonymous_client.get(reverse("account_login")).content.decode()
    assert "Sign in with GitHub" in body and team.world.org_login in body
    assert 'method="post"' in body and "read:org" in body
    assert "password" not in body.lower()  # no local passwords for people


SIGNED_OUT_OK = {"github-webhook", "clickup-webhook", "alertmanager-webhook", "healthz", "api-openapi"}
API = {"api-metrics", "api-metrics-evidence"}  # a program's client: 401 in JSON (a token or a session), no redirect


def _page_urls() -> list[str]:
    from delivery import urls

    names = []
    for pattern in urls.urlpatterns:
        name = getattr(pattern, "name", None)
        if name and name not in SIGNED_OUT_OK | API and "<" not in str(pattern.pattern) and name != "favicon":
            names.append(reverse(name))
    return names


def test_every_page_needs_sign_in_except_the_webhooks_the_health_check_and_sign_in(anonymous_client: Any) -> None:
    pages = _page_urls()
    assert {"/", "/board/", "/me/", "/team/", "/repositories/", "/settings/team/"} <= set(pages)
    for url in [*pages, "/changes/1/", "/releases/1/", "/repositories/1/", "/people/someone/"]:
        response = anonymous_client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next="), url
    assert anonymous_client.get(reverse("account_login")).status_code == 200
    for name in API:
        assert anonymous_client.get(reverse(name)).status_code == 401, name
    assert anonymous_client.get(reverse("api-openapi")).status_code == 200  # the API's description is public
    assert anonymous_client.get(reverse("healthz")).status_code in (200, 503)
    assert anonymous_client.post(reverse("github-webhook"), b"{}", content_type="application/json").status_code == 401
    # ClickUp's webhook: signed, not signed in (503 while its secret is not set, 401 for a bad signature)
    assert anonymous_client.post(reverse("clickup-webhook"), b"{}", content_type="application/json").status_code in (
        401,
        503,
    )


def test_a_live_refresh_after_the_session_ended_sends_the_page_to_sign_in(anonymous_client: Any) -> None:
    response = anonymous_client.get(
        reverse("board"),
        {"person": "ana"},
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/board/?person=ana"},
    )
    assert response.status_code == 204 and response.content == b""  # nothing swapped into the page
    assert response["HX-Redirect"] == "/accounts/login/?next=%2Fboard%2F%3Fperson%3Dana"


def test_the_sign_in_page_keeps_where_the_person_was_going(anonymous_client: Any, team: SimulatorServer) -> None:
    login_page = anonymous_client.get(reverse("team"), follow=True)
    body = login_page.content.decode()
    assert 'action="/accounts/github/login/?process=login&amp;next=%2Fteam%2F"' in body
    authorize = _start(anonymous_client, "/team/")
    response = _callback(anonymous_client, _authorize(authorize, _member(team).login))
    assert response["Location"] == "/team/"


def test_someone_who_lost_access_is_switched_off_at_their_next_sign_in(
    anonymous_client: Any, team: SimulatorServer, settings: Any
) -> None:
    outsider = team.world.outsider
    settings.TRUNKLINE_ALLOWED_LOGINS = [outsider.login]  # let in as a contractor
    _sign_in(anonymous_client, outsider.login)
    user = User.objects.get(username=outsider.login)
    other_browser = anonymous_client.__class__()
    other_browser.force_login(user)
    assert other_browser.get(reverse("team")).status_code == 200
    settings.TRUNKLINE_ALLOWED_LOGINS = []  # the contract ends
    anonymous_client.post(reverse("account_logout"))
    response = _sign_in(anonymous_client, outsider.login)
    assert response.status_code == 403
    user.refresh_from_db()
    assert not user.is_active
    assert other_browser.get(reverse("team")).status_code == 302  # their other sessions ended too


def test_the_members_sweep_switches_off_people_who_left(team: SimulatorServer, settings: Any) -> None:
    from delivery.github.members import members_sweep
    from tests.conftest import member, simulator_client

    settings.GITHUB_TOKEN = "test-token"
    stays = _member(team)
    kept = member(stays.login)
    Developer.objects.filter(user=kept).update(github_id=stays.id)
    gone = member("left-last-week")
    client = simulator_client(team)
    try:
        assert members_sweep(client) == 1
    finally:
        client.close()
    gone.refresh_from_db()
    kept.refresh_from_db()
    assert not gone.is_active and kept.is_active


def test_a_rotation_member_gets_the_on_call_role_at_their_first_sign_in(
    anonymous_client: Any, team: SimulatorServer
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from delivery.accounts.oncall import rotation_set

    person = _member(team)
    seen = Developer.objects.create(github_id=person.id, login=person.login)
    rotation_set(developers=[seen], starts_on=timezone.localdate() - timedelta(days=1), handover_hour=9, actor=None)
    _sign_in(anonymous_client, person.login)
    assert role_of(User.objects.get(username=person.login)) == Role.ON_CALL
