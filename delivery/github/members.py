"""Membership of the organization, as GitHub says it: asked with a person's own token when they sign in, and
swept with Trunkline's credentials so that people who left lose their access; the organization's teams and their
members, read with the sweep."""

from __future__ import annotations

import logging
from typing import Any

from allauth.socialaccount.providers.github.views import GitHubOAuth2Adapter
from django.conf import settings
from django.utils import timezone
from github import Auth

from delivery.accounts.models import Developer
from delivery.accounts.services import TeamRow, account_deactivate, allowed_logins, teams_replace
from delivery.core.stamps import FIGURES, stamp_move
from delivery.github.client import GitHubClient, GitHubNotFound, client_from_settings, github_credentials_configured
from delivery.github.ingest import ingest_users

logger = logging.getLogger(__name__)


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


def members_sweep(client: Any = None) -> int:
    """Switch off the accounts of people who are no longer members of GITHUB_ORG (nor on the allow-list), read
    with Trunkline's own GitHub credentials. Returns how many were switched off."""
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
    allowed = allowed_logins()
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


def teams_sync(client: Any = None) -> int:
    """The organization's teams and their members, as GitHub lists them now (a team it no longer lists goes).
    A team object without an id or slug is skipped and logged. Returns how many teams there are."""
    org = settings.GITHUB_ORG
    if not org or not github_credentials_configured():
        return 0
    owns = client is None
    client = client or client_from_settings()
    try:
        teams = [t for page in client.iter_pages(f"/orgs/{org}/teams") for t in page.items]
        members: dict[int, list[dict[str, Any]]] = {}
        good = []
        for team in teams:
            if not isinstance(team, dict) or not isinstance(team.get("id"), int) or not team.get("slug"):
                logger.warning("skipped a malformed team of %s: %.200r", org, team)
                continue
            good.append(team)
            pages = client.iter_pages(f"/orgs/{org}/teams/{team['slug']}/members")
            members[team["id"]] = [m for page in pages for m in page.items if isinstance(m, dict)]
    finally:
        if owns:
            client.close()
    people = ingest_users([m for found in members.values() for m in found]).ids
    rows = [
        TeamRow(
            github_id=team["id"],
            slug=str(team["slug"])[:100],
            name=str(team.get("name") or team["slug"])[:200],
            description=str(team.get("description") or ""),
            member_ids=frozenset(people[m["id"]] for m in members[team["id"]] if m.get("id") in people),
        )
        for team in good
    ]
    kept, removed = teams_replace(rows, now=timezone.now())
    stamp_move(FIGURES)  # team figures count their members' work
    if removed:
        logger.info("%s team(s) of %s are gone from GitHub: removed", removed, org)
    return kept
