"""The one module that talks to GitHub. PyGithub does the HTTP; this wraps its requester so that list
endpoints get ETag / 304 handling (PyGithub has conditional requests only for single objects), so every
error becomes one of a few named exceptions, and so a rate limit is reported as "wait until T" instead of
PyGithub's default of sleeping inside the worker."""

from __future__ import annotations

import http.client
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
import urllib3
from django.conf import settings
from github import Auth, Github, GithubException, GithubIntegration
from github.Requester import Requester

from delivery.core.backoff import backoff_seconds

logger = logging.getLogger(__name__)

PER_PAGE = 100
SECONDARY_LIMIT_FALLBACK_SECONDS = 60


class GitHubError(Exception):
    """A GitHub call failed. `permanent` errors are not worth retrying; the others are."""

    permanent = True

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class GitHubNotFound(GitHubError):
    """404/410: deleted, renamed, or not visible to this token."""


class GitHubUnavailable(GitHubError):
    """5xx or a connection failure that outlived the quick retries: retry later with a backoff."""

    permanent = False


class GitHubBadAnswer(GitHubUnavailable):
    """A 2xx whose body does not parse or is not the shape asked for (a damaged or cut answer, a proxy's page):
    nothing of it is used, and it is retried like an outage."""


class GitHubRateLimited(GitHubError):
    """A primary or secondary rate limit: nothing is wrong, wait until `retry_at` and go on."""

    permanent = False

    def __init__(self, message: str, *, retry_at: datetime, secondary: bool, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_at = retry_at
        self.secondary = secondary

    @property
    def wait_seconds(self) -> float:
        return max(0.0, (self.retry_at - datetime.now(UTC)).total_seconds())


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    data: Any

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str:
        return self.headers.get("etag", "")


@dataclass
class Page:
    """One page of a list endpoint. `last_page` comes from the Link header (None when unknown)."""

    number: int
    items: list[dict[str, Any]]
    etag: str = ""
    not_modified: bool = False
    next_url: str | None = None
    last_page: int | None = None


@dataclass
class RequestCounters:
    requests: int = 0
    not_modified: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    graphql_requests: int = 0
    graphql_points: int = 0


Shape = Callable[[Any], bool]
"""Whether a parsed body is what the caller asked for (a list of objects, an object...)."""


def list_of_objects(data: Any) -> bool:
    return isinstance(data, list) and all(isinstance(item, dict) for item in data)


def an_object(data: Any) -> bool:
    return isinstance(data, dict)


# A connection that breaks inside the body: requests wraps urllib3's errors, but a raw one may come through.
_CUT_MID_BODY = (
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    urllib3.exceptions.ProtocolError,
    http.client.IncompleteRead,
)


IN_REQUEST_BACKOFF_CAP = 30.0
"""The longest pause between quick retries inside one request (longer outages come back as a task's countdown)."""


def parse_link_header(value: str) -> dict[str, str]:
    """GitHub's Link header as {rel: url} (requests' parser)."""
    return {link["rel"]: link["url"] for link in requests.utils.parse_header_links(value or "") if "rel" in link}


def _page_number(url: str) -> int | None:
    values = parse_qs(urlparse(url).query).get("page")
    return int(values[0]) if values and values[0].isdigit() else None


class GitHubClient:
    """GitHub's REST API through PyGithub's requester, for one set of credentials."""

    def __init__(
        self,
        *,
        base_url: str,
        auth: Auth.Auth | None,
        seconds_between_requests: float = 0.25,
        seconds_between_writes: float = 1.0,
        timeout: float = 15.0,
        transient_retries: int = 3,
        backoff_seconds: float = 1.0,
        per_page: int = PER_PAGE,
    ) -> None:
        # retry=0: no hidden retries and, above all, no sleeping through rate limits inside PyGithub;
        # this class decides what is retried and for how long.
        self.github = Github(
            base_url=base_url,
            auth=auth,
            per_page=per_page,
            timeout=int(timeout),
            retry=0,
            seconds_between_requests=seconds_between_requests or None,
            seconds_between_writes=seconds_between_writes or None,
        )
        self.base_url = base_url.rstrip("/")
        self.per_page = per_page
        self.transient_retries = transient_retries
        self.backoff_seconds = backoff_seconds
        self.counters = RequestCounters()
        self._rate_exhausted_until: datetime | None = None
        self.before_request: Callable[[], None] | None = None
        """Called before every request: a sync renews its lease there, so no page or resource outlives it."""

    @property
    def requester(self) -> Requester:
        return self.github.requester

    def close(self) -> None:
        self.github.close()

    # -- single requests ------------------------------------------------------------------------------
    def request(
        self,
        verb: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        etag: str = "",
        body: Any = None,
        shape: Shape | None = None,
        read: bool | None = None,
    ) -> Response:
        """One request, with quick jittered retries on 5xx and connection errors. Raises GitHubError. A read is
        a GET, or a POST that only asks (a GraphQL query: `read=True`).

        A read (GET) whose answer breaks off inside the body, or whose 2xx body does not parse (or is not `shape`),
        is retried the same way and then raises GitHubBadAnswer (transient): nothing of a damaged answer, its ETag
        least of all, reaches the caller. A write that breaks off is not repeated (GitHub may have acted)."""
        if self._rate_exhausted_until and datetime.now(UTC) < self._rate_exhausted_until:
            raise GitHubRateLimited("GitHub rate limit exhausted", retry_at=self._rate_exhausted_until, secondary=False)
        headers = {"If-None-Match": etag} if etag else {}
        read = verb == "GET" if read is None else read
        attempt = 0
        while True:
            if self.before_request is not None:
                self.before_request()
            bad_answer = ""
            try:
                status, response_headers, output = self.requester.requestJson(
                    verb, url, params or None, headers or None, body
                )
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                status, response_headers, output = 0, {}, str(exc)
            except _CUT_MID_BODY as exc:
                if not read:
                    raise GitHubUnavailable(
                        f"GitHub's answer broke off ({exc.__class__.__name__}) on {verb} {url}"
                    ) from exc
                status, response_headers, output = 0, {}, str(exc)
                bad_answer = f"the answer broke off ({exc.__class__.__name__})"
            self.counters.requests += 1
            self.counters.by_status[status] = self.counters.by_status.get(status, 0) + 1
            data = None
            if 200 <= status < 300 and read:
                data = _json_or_none(output)
                if data is None and output:
                    bad_answer = "a 2xx body that is not JSON"
                elif shape is not None and not shape(data):
                    bad_answer = f"a 2xx body of the wrong shape ({type(data).__name__})"
            if status == 0 or status >= 500 or bad_answer:
                if attempt < self.transient_retries:
                    self._sleep_backoff(attempt)
                    attempt += 1
                    continue
                if bad_answer:
                    raise GitHubBadAnswer(f"GitHub sent a damaged answer: {bad_answer} on {verb} {url}", status=status)
                raise GitHubUnavailable(
                    f"GitHub unavailable ({status or 'connection failed'}) on {verb} {url}", status=status or None
                )
            if status == 304:
                self.counters.not_modified += 1
                return Response(status, response_headers, None)
            if data is None:
                data = _json_or_none(output)
            if status >= 400:
                raise self._error(status, response_headers, data, f"{verb} {url}")
            self._note_rate_limit(response_headers)
            return Response(status, response_headers, data)

    def get(
        self, url: str, *, params: dict[str, Any] | None = None, etag: str = "", shape: Shape | None = None
    ) -> Response:
        return self.request("GET", url, params=params, etag=etag, shape=shape)

    def post(self, url: str, body: Any) -> Response:
        return self.request("POST", url, body=body)

    # -- lists ------------------------------------------------------------------------------------------
    def iter_pages(
        self, url: str, *, params: dict[str, Any] | None = None, etag: str = "", items_key: str | None = None
    ) -> Iterator[Page]:
        """Pages of a list endpoint, following GitHub's Link headers. The first request is conditional on
        `etag`: a 304 yields one empty page with not_modified=True and stops. Pages are fetched lazily, so a
        caller that stops early (a bookmark reached) costs no further requests."""
        query = {"per_page": self.per_page, **(params or {})}
        shape = _page_shape(items_key)
        response = self.get(url, params=query, etag=etag, shape=shape)
        number = 1
        while True:
            if response.not_modified:
                yield Page(number=number, items=[], etag=etag, not_modified=True)
                return
            data = response.data
            items = data.get(items_key, []) if items_key and isinstance(data, dict) else data
            links = parse_link_header(response.headers.get("link", ""))
            next_url = links.get("next")
            last_page = _page_number(links["last"]) if "last" in links else (number if not next_url else None)
            yield Page(
                number=number,
                items=list(items or []),
                etag=response.etag,
                next_url=next_url,
                last_page=last_page,
            )
            if not next_url:
                return
            response = self.get(next_url, shape=shape)
            number += 1

    def iter_pages_each_conditional(
        self, url: str, *, etags: dict[str, Any], params: dict[str, Any] | None = None
    ) -> Iterator[Page]:
        """Every page of a list that is not sorted by change (tags, an organization's repositories), each page
        conditional on its own ETag from `etags` (page number → ETag, plus "last_full"): a 304 on page 1 says
        nothing about page 2. After a 304 the walk goes on while the previous pass saw more pages, or its last
        page was full (something may have spilled onto a new page)."""
        number = 1
        while True:
            key = str(number)
            query = {"per_page": self.per_page, **(params or {}), "page": number}
            response = self.get(url, params=query, etag=etags.get(key, ""), shape=list_of_objects)
            if response.not_modified:
                yield Page(number=number, items=[], etag=etags[key], not_modified=True)
                if str(number + 1) not in etags and not etags.get("last_full"):
                    return
            else:
                next_url = parse_link_header(response.headers.get("link", "")).get("next")
                yield Page(number=number, items=list(response.data or []), etag=response.etag, next_url=next_url)
                if not next_url:
                    return
            number += 1

    # -- errors and limits -----------------------------------------------------------------------------
    def _error(self, status: int, headers: dict[str, str], data: Any, what: str) -> GitHubError:
        message = (data or {}).get("message", "") if isinstance(data, dict) else ""
        if status in (403, 429):
            limited = self._rate_limit_error(status, headers, message)
            if limited is not None:
                return limited
        if status in (404, 410):
            return GitHubNotFound(f"{status} {message or 'Not Found'}: {what}", status=status)
        # Let PyGithub name it (bad credentials, etc.), then keep its words.
        exc: GithubException = Requester.createException(status, headers, data or {})
        return GitHubError(f"GitHub answered {status} {message or exc.__class__.__name__}: {what}", status=status)

    def _rate_limit_error(self, status: int, headers: dict[str, str], message: str) -> GitHubRateLimited | None:
        now = datetime.now(UTC)
        retry_after = headers.get("retry-after")
        if retry_after and retry_after.strip().isdigit():
            return GitHubRateLimited(
                f"GitHub secondary rate limit: retry after {retry_after}s",
                retry_at=now + timedelta(seconds=int(retry_after)),
                secondary=True,
                status=status,
            )
        if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset", "").isdigit():
            reset = datetime.fromtimestamp(int(headers["x-ratelimit-reset"]), UTC) + timedelta(seconds=1)
            self._rate_exhausted_until = reset
            return GitHubRateLimited(
                f"GitHub rate limit exhausted until {reset:%H:%M:%S} UTC",
                retry_at=max(reset, now),
                secondary=False,
                status=status,
            )
        if status == 429 or Requester.isRateLimitError(message):
            # GitHub: without retry-after or a reset, wait at least a minute (callers back off further).
            return GitHubRateLimited(
                f"GitHub rate limit ({message or status}): waiting a minute",
                retry_at=now + timedelta(seconds=SECONDARY_LIMIT_FALLBACK_SECONDS),
                secondary=True,
                status=status,
            )
        return None

    def _note_rate_limit(self, headers: dict[str, str]) -> None:
        """Stop before GitHub refuses: when the budget is spent, the next call raises without a request."""
        if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset", "").isdigit():
            self._rate_exhausted_until = datetime.fromtimestamp(int(headers["x-ratelimit-reset"]), UTC) + timedelta(
                seconds=1
            )
        else:
            self._rate_exhausted_until = None

    def _sleep_backoff(self, attempt: int) -> None:
        delay = backoff_seconds(attempt, base=self.backoff_seconds, cap=IN_REQUEST_BACKOFF_CAP)
        logger.info("GitHub transient error; retrying in %.2fs", delay)
        time.sleep(delay)


def _page_shape(items_key: str | None) -> Shape:
    """A list page is a list of objects, or an object holding one under `items_key` (`workflow_runs`)."""
    if items_key is None:
        return list_of_objects
    return lambda data: isinstance(data, dict) and list_of_objects(data.get(items_key))


def _json_or_none(output: str | object) -> Any:
    if not isinstance(output, str) or not output:
        return None
    try:
        return json.loads(output)
    except ValueError:
        return None


def github_credentials_configured() -> bool:
    """A token or a GitHub App is configured (without either, Trunkline can take webhooks but not read GitHub)."""
    return bool(settings.GITHUB_TOKEN or settings.GITHUB_APP_ID)


def _auth_from_settings() -> Auth.Auth | None:
    if settings.GITHUB_TOKEN:
        return Auth.Token(settings.GITHUB_TOKEN)
    if settings.GITHUB_APP_ID and settings.GITHUB_APP_PRIVATE_KEY:
        app_auth = Auth.AppAuth(settings.GITHUB_APP_ID, settings.GITHUB_APP_PRIVATE_KEY.replace("\\n", "\n"))
        installation_id = settings.GITHUB_APP_INSTALLATION_ID
        if not installation_id:
            integration = GithubIntegration(auth=app_auth, base_url=settings.GITHUB_API_URL)
            installation_id = integration.get_org_installation(settings.GITHUB_ORG).id
        return app_auth.get_installation_auth(int(installation_id))
    return None


def client_from_settings() -> GitHubClient:
    """The client for the configured GitHub (or the simulator, in the demo)."""
    return GitHubClient(
        base_url=settings.GITHUB_API_URL,
        auth=_auth_from_settings(),
        seconds_between_requests=settings.GITHUB_SECONDS_BETWEEN_REQUESTS,
        seconds_between_writes=settings.GITHUB_SECONDS_BETWEEN_WRITES,
        timeout=settings.GITHUB_TIMEOUT,
        transient_retries=settings.GITHUB_TRANSIENT_RETRIES,
        backoff_seconds=settings.GITHUB_BACKOFF_SECONDS,
    )
