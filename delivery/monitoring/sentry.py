"""The one way Trunkline reads Sentry: an organization's unresolved issues of one project and environment
(`GET /api/0/organizations/{org}/issues/?project=…&environment=…&statsPeriod=…&query=is:unresolved`), with the token
from SENTRY_TOKEN at SENTRY_URL. The watch keeps the issues new since the deploy and those regressed since it, with
their links and event counts. A refused token (401/403), an unknown organization or project (404, 400), Sentry's rate
limit (429) and its outages (5xx, no answer) become a SignalReadError in words; the read is tried again at the next
beat. Sentry's API: https://docs.sentry.io/api/events/list-an-organizations-issues/"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.utils.dateparse import parse_datetime

from delivery.monitoring.signal_http import SignalReadError, get_json

ISSUES_PER_READ = 100
"""Sentry's page size; the watch reads the first page, newest first."""


@dataclass(frozen=True)
class SentryIssue:
    id: str
    short_id: str
    title: str
    url: str
    count: int
    first_seen: datetime
    last_seen: datetime
    substatus: str  # "new", "regressed", "ongoing", "escalating", … ("" on older Sentry versions)

    def as_dict(self, kind: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "short_id": self.short_id,
            "title": self.title[:200],
            "url": self.url,
            "count": self.count,
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "kind": kind,
        }


class SentryClient:
    def __init__(self, *, base_url: str, token: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", "Authorization": f"Bearer {token}"})

    @classmethod
    def from_settings(cls) -> SentryClient:
        if not settings.SENTRY_TOKEN:
            raise SignalReadError("SENTRY_TOKEN is not set: Trunkline cannot read Sentry")
        return cls(base_url=settings.SENTRY_URL, token=settings.SENTRY_TOKEN, timeout=settings.SENTRY_TIMEOUT_SECONDS)

    def close(self) -> None:
        self.session.close()

    def issues(
        self, *, organization: str, project: str, environment: str, since: datetime, now: datetime
    ) -> list[SentryIssue]:
        """The unresolved issues of the project and environment with events since `since` (statsPeriod in whole
        minutes from `now`), as Sentry lists them."""
        minutes = max(1, math.ceil((now - since) / timedelta(minutes=1)))
        params: dict[str, Any] = {
            "project": project,
            "statsPeriod": f"{minutes}m",
            "query": "is:unresolved",
            "sort": "new",
            "limit": ISSUES_PER_READ,
        }
        if environment:
            params["environment"] = environment
        url = f"{self.base_url}/api/0/organizations/{organization}/issues/"
        status, data, response = get_json(self.session, url, params=params, timeout=self.timeout, source="Sentry")
        if status >= 400:
            raise SignalReadError(_refusal(status, data, response, organization=organization, project=project))
        if not isinstance(data, list):
            raise SignalReadError(f"Sentry answered {status} with something that is not a list of issues")
        return [_issue(item) for item in data]


def _refusal(status: int, data: Any, response: requests.Response, *, organization: str, project: str) -> str:
    detail = str(data.get("detail") or "")[:150] if isinstance(data, dict) else ""
    said = f": {detail}" if detail else ""
    if status == 401:
        return f"Sentry refused the token (401){said}: check SENTRY_TOKEN"
    if status == 403:
        return f"Sentry's token may not read organization {organization}'s issues (403){said}"
    if status == 404:
        return f"Sentry knows no organization {organization} (404){said}: check the repository's settings"
    if status == 429:
        reset = response.headers.get("X-Sentry-Rate-Limit-Reset") or response.headers.get("Retry-After") or ""
        words = "Sentry's rate limit is spent (429); read again at the next beat"
        return f"{words} (reset {reset})" if reset else words
    if status >= 500:
        return f"Sentry answered {status}: it is having trouble; read again at the next beat"
    return f"Sentry refused to list project {project}'s issues ({status}){said}"


def _issue(item: Any) -> SentryIssue:
    if not isinstance(item, dict):
        raise SignalReadError("Sentry listed something that is not an issue")
    first, last = _moment(item.get("firstSeen")), _moment(item.get("lastSeen"))
    try:
        count = int(item.get("count") or 0)  # a string in Sentry's answers
    except (TypeError, ValueError) as exc:
        raise SignalReadError(f"Sentry's issue {item.get('id')!r:.40} has a count that is not a number") from exc
    if first is None or last is None or not item.get("id"):
        raise SignalReadError(f"Sentry's issue {item.get('id')!r:.40} has no id, firstSeen or lastSeen")
    return SentryIssue(
        id=str(item["id"]),
        short_id=str(item.get("shortId") or item["id"]),
        title=str(item.get("title") or item.get("culprit") or "(untitled)"),
        url=str(item.get("permalink") or ""),
        count=count,
        first_seen=first,
        last_seen=last,
        substatus=str(item.get("substatus") or ""),
    )


def _moment(value: Any) -> datetime | None:
    """An ISO 8601 time as Sentry writes them (UTC, "Z"); None for anything else."""
    try:
        moment = parse_datetime(str(value or ""))
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment
