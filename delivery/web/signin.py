"""Who may sign in: GitHub OAuth (allauth) is the only way in for people. After GitHub says who the person is, and
before allauth signs them in or creates an account, `SocialAccountAdapter.pre_social_login` asks GitHub with the
person's own token whether they are an active member of GITHUB_ORG (`GET /user/memberships/orgs/{org}`), unless
their login is on TRUNKLINE_ALLOWED_LOGINS. Anyone else gets the "not a member" page, and nothing is stored but an
audit event (accounts.services.sign_in_refuse). What follows a sign-in is delivery.accounts.signin's."""

from __future__ import annotations

import logging
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.signals import user_logged_in as allauth_logged_in
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from django.conf import settings
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest
from django.shortcuts import render

from delivery.accounts.services import allowed_logins, sign_in_refuse
from delivery.clickup.client import configured as clickup_configured
from delivery.core.queue import task_queue
from delivery.flows.requests import READ_CLICKUP_QUEUES
from delivery.github.client import GitHubError
from delivery.github.members import membership_state

logger = logging.getLogger(__name__)


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False  # no local accounts: people come in through GitHub (SocialAccountAdapter below)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return True  # pre_social_login has already turned away everyone who is not on the team

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        login = str(sociallogin.account.extra_data.get("login") or "")
        org = settings.GITHUB_ORG
        if login.lower() in allowed_logins():
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
                sign_in_refuse(login=login, reason=f"Membership check failed: {exc}", request=request)
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
            # Someone who has left: their account stops working everywhere.
            leaver = sociallogin.user if sociallogin.is_existing else None
            sign_in_refuse(login=login, reason=refusal, user=leaver, request=request)
            raise ImmediateHttpResponse(
                render(request, "accounts/sign_in_refused.html", {"login": login, "org": org}, status=403)
            )

    def populate_user(self, request: HttpRequest, sociallogin: SocialLogin, data: dict[str, Any]) -> Any:
        user = super().populate_user(request, sociallogin, data)
        user.username = str(sociallogin.account.extra_data.get("login") or user.username)[:150]
        return user


@receiver(allauth_logged_in, dispatch_uid="trunkline-clickup-match")
def _clickup_match(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """A sign-in brings the person's verified e-mail addresses: ClickUp's members are matched to them (and their
    tasks read) at once rather than at beat's next run."""
    if clickup_configured():
        transaction.on_commit(lambda: task_queue(READ_CLICKUP_QUEUES))
