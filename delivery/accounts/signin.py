"""Who may sign in, and what happens when they do.

GitHub OAuth (allauth) is the only way in for people. After GitHub says who the person is, and before allauth
signs them in or creates an account, `SocialAccountAdapter.pre_social_login` asks GitHub with the person's own
token whether they are an active member of GITHUB_ORG (`GET /user/memberships/orgs/{org}`), unless their login
is on TRUNKLINE_ALLOWED_LOGINS. Anyone else gets the "not a member" page, and nothing is stored but an audit
event. A signed-in person is linked to their Developer record (by GitHub id), made if the sync has not seen
them, and given the default role the first time."""

from __future__ import annotations

import logging
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.signals import user_logged_in as allauth_logged_in
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.github.views import GitHubOAuth2Adapter
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest
from django.shortcuts import render
from django.utils import timezone
from github import Auth

from delivery.accounts.audit import audit
from delivery.accounts.models import AuditEvent, Developer, Role
from delivery.accounts.oncall import on_call_duty
from delivery.accounts.roles import RANK, role_of, role_set
from delivery.github.client import GitHubClient, GitHubError, GitHubNotFound

logger = logging.getLogger(__name__)


def _allowed_logins() -> set[str]:
    return {login.lower() for login in settings.TRUNKLINE_ALLOWED_LOGINS}


def membership_state(token: str, org: str) -> str:
    """The person's membership state in `org` ("active", "pending") or "none", asked with their own token."""
    client = GitHubClient(
        base_url=GitHubOAuth2Adapter.api_url,
        auth=Auth.Token(token),
        seconds_between_requests=0,
        seconds_between_writes=0,
        timeout=10,
        transient_retries=1,
        backoff_seconds=0.2,
    )
    try:
        data = client.get(f"/user/memberships/orgs/{org}").data or {}
    except GitHubNotFound:
        return "none"
    finally:
        client.close()
    return str(data.get("state") or "none")


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False  # no local accounts: people come in through GitHub (SocialAccountAdapter below)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return True  # pre_social_login has already turned away everyone who is not on the team

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        login = str(sociallogin.account.extra_data.get("login") or "")
        org = settings.GITHUB_ORG
        if login.lower() in _allowed_logins():
            return
        refusal = ""
        if not org:
            refusal = "no organization is configured (GITHUB_ORG) and you are not on the allow-list"
        else:
            try:
                state = membership_state(sociallogin.token.token, org)
            except GitHubError as exc:
                logger.warning("sign-in of %s: membership check failed: %s", login, exc)
                problem = "GitHub did not answer our membership check. Try again in a minute."
                if exc.status == 403:
                    problem = (
                        f"GitHub refused to tell us about your membership of {org} (403): the organization may "
                        "restrict OAuth apps. An organization owner can approve Trunkline in its settings."
                    )
                audit(request, AuditEvent.Verb.SIGN_IN_REFUSED, login=login, summary=f"Membership check failed: {exc}")
                raise ImmediateHttpResponse(
                    render(
                        request,
                        "accounts/sign_in_refused.html",
                        {
                            "login": login,
                            "org": org,
                            "problem": problem,
                        },
                        status=503,
                    )
                ) from exc
            if state != "active":
                refusal = f"not an active member of {org} ({'invitation pending' if state == 'pending' else state})"
        if refusal:
            if sociallogin.is_existing:  # someone who has left: their account stops working everywhere
                account_deactivate(sociallogin.user, reason=refusal)
            audit(request, AuditEvent.Verb.SIGN_IN_REFUSED, login=login, summary=refusal)
            raise ImmediateHttpResponse(
                render(request, "accounts/sign_in_refused.html", {"login": login, "org": org}, status=403)
            )

    def populate_user(self, request: HttpRequest, sociallogin: SocialLogin, data: dict[str, Any]) -> Any:
        user = super().populate_user(request, sociallogin, data)
        user.username = str(sociallogin.account.extra_data.get("login") or user.username)[:150]
        return user


def developer_link(user: Any, github: dict[str, Any]) -> Developer:
    """The Developer record of this GitHub account, linked to `user` (a previous link of either side moves)."""
    with transaction.atomic():
        developer, _created = Developer.objects.select_for_update().get_or_create(
            github_id=int(github["id"]),
            defaults={"login": github.get("login") or user.get_username()},
        )
        Developer.objects.filter(user=user).exclude(pk=developer.pk).update(user=None)
        developer.user = user
        developer.login = github.get("login") or developer.login
        developer.name = github.get("name") or developer.name
        developer.avatar_url = github.get("avatar_url") or developer.avatar_url
        developer.html_url = github.get("html_url") or developer.html_url
        developer.save()
    return developer


def _initial_role(login: str) -> Role:
    if login.lower() in {a.lower() for a in settings.TRUNKLINE_ADMIN_LOGINS}:
        return Role.ADMIN
    return Role(settings.TRUNKLINE_DEFAULT_ROLE)


@receiver(allauth_logged_in, dispatch_uid="trunkline-github-signed-in")
def _github_signed_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """After a GitHub sign-in: the Developer link, and a role for a newcomer (or admin from the settings)."""
    sociallogin = kwargs.get("sociallogin")
    github = sociallogin.account.extra_data if sociallogin is not None else {}
    if not github.get("id"):
        return
    developer = developer_link(user, github)
    wanted = _initial_role(str(github.get("login") or ""))
    current = role_of(user)
    if current is None or (wanted == Role.ADMIN and current != Role.ADMIN):
        role_set(user, wanted)
        current = wanted
    if RANK[current] < RANK[Role.ON_CALL] and on_call_duty(developer):
        role_set(user, Role.ON_CALL)  # put on the rotation (or an override) before they ever signed in


@receiver(user_logged_in, dispatch_uid="trunkline-signed-in")
def _signed_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    how = "the admin site's password" if request.path.startswith("/admin/") else "GitHub"
    audit(request, AuditEvent.Verb.SIGN_IN, actor=user, summary=f"Signed in with {how}")


@receiver(user_logged_out, dispatch_uid="trunkline-signed-out")
def _signed_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit(request, AuditEvent.Verb.SIGN_OUT, actor=user, summary="Signed out")


def account_deactivate(user: Any, *, reason: str) -> None:
    """Switch off an account (its role stays for the record) and end its sessions."""
    from django.contrib.sessions.models import Session

    if user is None or user.pk is None:
        return
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
    audit(None, AuditEvent.Verb.SIGN_IN_REFUSED, login=user.get_username(), summary=f"Account switched off: {reason}")


def members_sweep(client: Any = None) -> int:
    """Switch off the accounts of people who are no longer members of GITHUB_ORG (nor on the allow-list), read
    with Trunkline's own GitHub credentials. Returns how many were switched off."""
    from delivery.github.client import client_from_settings, github_credentials_configured

    org = settings.GITHUB_ORG
    if not org or not github_credentials_configured():
        return 0
    owns = client is None
    client = client or client_from_settings()
    try:
        members = {m["id"] for page in client.iter_pages(f"/orgs/{org}/members") for m in page.items}
    finally:
        if owns:
            client.close()
    allowed = _allowed_logins()
    gone = (
        Developer.objects.filter(user__is_active=True, user__is_superuser=False)
        .exclude(github_id__in=members)
        .select_related("user")
    )
    count = 0
    for developer in gone:
        if developer.login.lower() in allowed:
            continue
        account_deactivate(developer.user, reason=f"no longer a member of {org}")
        count += 1
    return count
