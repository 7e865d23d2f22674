"""The OAuth web flow as django-allauth's GitHub provider drives it."""

from __future__ import annotations

import base64
import hashlib
import re
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from delivery.simulator.server import SimulatorServer
from delivery.simulator.world import World

CALLBACK = "http://127.0.0.1:8000/accounts/github/login/callback/"


def _authorize(server: SimulatorServer, login: str, **extra: str) -> str:
    """Open the sign-in page, click the user's link, return the code from the redirect."""
    params = {
        "client_id": "trunkline-demo",
        "redirect_uri": CALLBACK,
        "scope": "user:email",
        "state": "xyz-123",
        "response_type": "code",
        **extra,
    }
    page = requests.get(f"{server.url}/login/oauth/authorize", params=params, timeout=10)
    assert page.status_code == 200 and "Sign in to Trunkline as" in page.text
    found = re.findall(r'<a class="user" href="([^"]+)">([^<]+)</a>', page.text)
    links = {text: unescape(href) for href, text in found}
    redirect = requests.get(server.url + links[login], allow_redirects=False, timeout=10)
    assert redirect.status_code == 302
    location = urlsplit(redirect.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == ["xyz-123"]
    return query["code"][0]


def _token(server: SimulatorServer, code: str, **extra: str) -> dict[str, str]:
    form = {
        "client_id": "trunkline-demo",
        "client_secret": "trunkline-demo-secret",
        "code": code,
        "redirect_uri": CALLBACK,
        "grant_type": "authorization_code",
        **extra,
    }
    response = requests.post(
        f"{server.url}/login/oauth/access_token", data=form, headers={"Accept": "application/json"}, timeout=10
    )
    assert response.status_code == 200
    return response.json()


def test_sign_in_page_lists_members_and_the_outsider(server: SimulatorServer, world: World) -> None:
    page = requests.get(
        f"{server.url}/login/oauth/authorize",
        params={"client_id": "trunkline-demo", "redirect_uri": CALLBACK},
        timeout=10,
    )
    shown = re.findall(r'<a class="user" href="[^"]+">([^<]+)</a>', page.text)
    assert world.outsider is not None
    assert set(shown) == {u.login for u in world.members} | {world.outsider.login}
    unknown = requests.get(
        f"{server.url}/login/oauth/authorize",
        params={"client_id": "someone-else", "redirect_uri": CALLBACK},
        timeout=10,
    )
    assert unknown.status_code == 400


def test_round_trip_member(server: SimulatorServer, world: World) -> None:
    member = world.members[2]
    code = _authorize(server, member.login)
    token = _token(server, code)
    assert token["token_type"] == "bearer" and token["scope"] == "user:email"
    headers = {"Authorization": f"token {token['access_token']}"}
    me = requests.get(f"{server.api_url}/user", headers=headers, timeout=10).json()
    assert (me["login"], me["id"]) == (member.login, member.id)
    emails = requests.get(f"{server.api_url}/user/emails", headers=headers, timeout=10).json()
    assert any(e["primary"] and e["email"] == member.email for e in emails)
    membership = requests.get(f"{server.api_url}/user/memberships/orgs/acme", headers=headers, timeout=10)
    assert membership.status_code == 200 and membership.json()["state"] == "active"
    assert membership.json()["role"] == member.role
    again = _token(server, code)
    assert again["error"] == "bad_verification_code", "codes are single-use"


def test_outsider_is_not_a_member(server: SimulatorServer, world: World) -> None:
    assert world.outsider is not None
    token = _token(server, _authorize(server, world.outsider.login))["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{server.api_url}/user", headers=headers, timeout=10).json()["login"] == world.outsider.login
    assert requests.get(f"{server.api_url}/user/memberships/orgs/acme", headers=headers, timeout=10).status_code == 404


def test_bad_secret_bad_code_and_form_encoded_reply(server: SimulatorServer, world: World) -> None:
    code = _authorize(server, world.members[0].login)
    wrong = _token(server, code, client_secret="nope")
    assert wrong["error"] == "incorrect_client_credentials"
    assert _token(server, "0000")["error"] == "bad_verification_code"
    plain = requests.post(
        f"{server.url}/login/oauth/access_token",
        timeout=10,
        data={"client_id": "trunkline-demo", "client_secret": "trunkline-demo-secret", "code": code},
    )
    assert plain.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert parse_qs(plain.text)["token_type"] == ["bearer"]


def test_pkce_and_basic_client_auth(server: SimulatorServer, world: World) -> None:
    verifier = "a" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    code = _authorize(server, world.members[1].login, code_challenge=challenge, code_challenge_method="S256")
    response = requests.post(
        f"{server.url}/login/oauth/access_token",
        auth=("trunkline-demo", "trunkline-demo-secret"),
        data=urlencode({"code": code, "code_verifier": verifier}),
        timeout=10,
        headers={"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert "access_token" in response.json()
