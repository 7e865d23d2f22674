"""GitHub's OAuth web flow, as django-allauth's GitHub provider uses it.

``GET /login/oauth/authorize`` shows "Sign in to Trunkline as..." with one link per simulated user
(the link text is the login); choosing one redirects to ``redirect_uri?code=...&state=...``.
``POST /login/oauth/access_token`` trades a single-use code for a token that ``/api/v3/user*``
maps back to that user.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import string
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .models import User
from .world import World

CODE_TTL_SECONDS = 600
ERROR_URI = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors"


@dataclass(slots=True)
class Grant:
    user_id: int
    redirect_uri: str
    scope: str
    expires: float
    code_challenge: str | None
    challenge_method: str


@dataclass(slots=True)
class Page:
    status: int
    body: bytes
    content_type: str
    headers: list[tuple[str, str]]


class OAuthApp:
    def __init__(self, world: World, client_id: str, client_secret: str) -> None:
        self.world = world
        self.client_id = client_id
        self.client_secret = client_secret
        self._lock = threading.Lock()
        self._codes: dict[str, Grant] = {}
        self._tokens: dict[str, tuple[int, str]] = {}

    # -- tokens ----------------------------------------------------------------------------------
    def issue_token(self, user: User, scope: str = "read:user,user:email") -> str:
        token = "gho_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))
        with self._lock:
            self._tokens[token] = (user.id, scope)
        return token

    def lookup(self, token: str) -> tuple[User, str] | None:
        with self._lock:
            found = self._tokens.get(token)
        if found is None:
            return None
        user = self.world.users.get(found[0])
        return (user, found[1]) if user is not None else None

    def choices(self) -> list[User]:
        users = sorted(self.world.members, key=lambda u: u.login)
        if self.world.outsider is not None:
            users.append(self.world.outsider)
        return users

    # -- GET /login/oauth/authorize --------------------------------------------------------------
    def authorize(self, query: list[tuple[str, str]]) -> Page:
        params = dict(query)
        if params.get("client_id") != self.client_id:
            return _html(400, "Unknown application", "<p>No OAuth application is registered with this client ID.</p>")
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri.startswith(("http://", "https://")):
            return _html(400, "Missing redirect URI", "<p>The request needs a <code>redirect_uri</code>.</p>")
        login = params.get("login")
        if login is None:
            return self._chooser(query)
        user = self.world.user(login)
        if user is None or user not in self.choices():
            return _html(400, "Unknown user", f"<p>No simulated user called {html.escape(login)}.</p>")
        code = secrets.token_hex(10)
        with self._lock:
            self._codes[code] = Grant(
                user.id,
                redirect_uri,
                params.get("scope", ""),
                time.time() + CODE_TTL_SECONDS,
                params.get("code_challenge"),
                params.get("code_challenge_method", "plain"),
            )
        extra = [("code", code)] + ([("state", params["state"])] if "state" in params else [])
        parts = urlsplit(redirect_uri)
        location = urlunsplit(parts._replace(query=urlencode(parse_qsl(parts.query) + extra)))
        return Page(302, b"", "text/html; charset=utf-8", [("Location", location)])

    def _chooser(self, query: list[tuple[str, str]]) -> Page:
        base = [(k, v) for k, v in query if k != "login"]
        rows = []
        for user in self.choices():
            href = "/login/oauth/authorize?" + urlencode([*base, ("login", user.login)])
            who = "organization member" if user.is_member else "not a member of the organization"
            rows.append(
                f'<li><img src="/avatars/u/{user.id}" alt="" width="32" height="32">'
                f'<a class="user" href="{html.escape(href)}">{html.escape(user.login)}</a>'
                f"<span>{html.escape(user.name)} &middot; {who}</span></li>"
            )
        body = (
            f"<p>Trunkline wants to know who you are on <b>{html.escape(self.world.org.name)}</b>'s GitHub. "
            "Pick a simulated account:</p>"
            f'<ul class="users">{"".join(rows)}</ul>'
        )
        return _html(200, "Sign in to Trunkline as…", body)

    # -- POST /login/oauth/access_token ----------------------------------------------------------
    def access_token(self, form: dict[str, str], basic_auth: tuple[str, str] | None, wants_json: bool) -> Page:
        client_id, secret = basic_auth or (form.get("client_id", ""), form.get("client_secret", ""))
        if client_id != self.client_id or secret != self.client_secret:
            return _token_reply(
                wants_json,
                {
                    "error": "incorrect_client_credentials",
                    "error_description": "The client_id and/or client_secret passed are incorrect.",
                    "error_uri": f"{ERROR_URI}#incorrect-client-credentials",
                },
            )
        code = form.get("code", "")
        with self._lock:
            grant = self._codes.get(code)
            problem = self._check(grant, form)
            if grant is not None and problem is None:
                del self._codes[code]
        if grant is None or problem is not None:
            error = problem or "bad_verification_code"
            descriptions = {
                "bad_verification_code": "The code passed is incorrect or expired.",
                "redirect_uri_mismatch": "The redirect_uri MUST match the registered callback URL "
                "for this application.",
            }
            return _token_reply(
                wants_json,
                {
                    "error": error,
                    "error_description": descriptions[error],
                    "error_uri": f"{ERROR_URI}#{error.replace('_', '-')}",
                },
            )
        user = self.world.users[grant.user_id]
        token = self.issue_token(user, grant.scope)
        self.world.sign_in_record(user)  # from now on the live activity leaves this person to themselves
        return _token_reply(wants_json, {"access_token": token, "token_type": "bearer", "scope": grant.scope})

    @staticmethod
    def _check(grant: Grant | None, form: dict[str, str]) -> str | None:
        if grant is None or grant.expires < time.time():
            return "bad_verification_code"
        if form.get("redirect_uri") and form["redirect_uri"] != grant.redirect_uri:
            return "redirect_uri_mismatch"
        if grant.code_challenge:
            verifier = form.get("code_verifier", "")
            if grant.challenge_method == "S256":
                digest = hashlib.sha256(verifier.encode()).digest()
                verifier = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            if verifier != grant.code_challenge:
                return "bad_verification_code"
        return None


def _token_reply(wants_json: bool, data: dict[str, str]) -> Page:
    if wants_json:
        return Page(200, json.dumps(data).encode(), "application/json; charset=utf-8", [])
    return Page(200, urlencode(data).encode(), "application/x-www-form-urlencoded; charset=utf-8", [])


STYLE = """
body{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif;background:#f6f8fa;
color:#1f2328;margin:0}main{max-width:440px;margin:48px auto;background:#fff;border:1px solid #d0d7de;
border-radius:8px;padding:24px 28px}h1{font-size:20px;font-weight:600;margin:0 0 12px}p{font-size:14px;
line-height:1.5}ul.users{list-style:none;padding:0;margin:16px 0 0}ul.users li{display:flex;align-items:center;
gap:10px;padding:8px 0;border-top:1px solid #eaeef2}ul.users img{border-radius:50%}a.user{font-weight:600;
color:#fff;background:#1f883d;border-radius:6px;padding:5px 12px;text-decoration:none;font-size:14px}
a.user:hover{background:#1a7f37}ul.users span{color:#59636e;font-size:12px}
"""


def _html(status: int, title: str, body: str) -> Page:
    page = (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<meta name=viewport content='width=device-width,initial-scale=1'><style>{STYLE}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )
    return Page(status, page.encode(), "text/html; charset=utf-8", [])


html_page = _html
