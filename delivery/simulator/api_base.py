"""Request/response plumbing shared by the REST handlers: errors, pagination, lookups."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from .faults import RateLimiter, RateWindow
from .models import Repository, User
from .render import Renderer
from .render_delivery import DeliveryRenderer
from .render_git import GitRenderer
from .world import World

DOCS = "https://docs.github.com/rest"
JSON_TYPE = "application/json; charset=utf-8"


@dataclass(slots=True)
class Response:
    """An HTTP answer as the server sends it."""

    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)
    cut: str = ""  # a cut_body fault: how the connection breaks inside the body


@dataclass(slots=True)
class Request:
    method: str
    path: str  # below /api/v3
    query: list[tuple[str, str]]
    params: dict[str, str] = field(default_factory=dict)
    user: User | None = None  # who the token acts as; None without a token
    oauth: bool = False  # the token was issued through the simulator's OAuth flow
    body: Any = None
    rate: RateWindow | None = None

    def q(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.query:
            if key == name:
                return value
        return default


@dataclass(slots=True)
class Result:
    status: int = 200
    body: Any = None
    headers: list[tuple[str, str]] = field(default_factory=list)


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message}
        data.update(self.extra)
        data.setdefault("documentation_url", DOCS)
        data["status"] = str(self.status)
        return data


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def invalid(message: str, **extra: Any) -> ApiError:
    return ApiError(422, message, **extra)


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiError(400, f"Invalid time: {value}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class ApiBase:
    def __init__(self, world: World, renderer: Renderer) -> None:
        self.world = world
        self.r = renderer
        self.graphql_rate: RateLimiter | None = None  # the GraphQL points budget, for GET /rate_limit
        self.git = GitRenderer(renderer)
        self.delivery = DeliveryRenderer(renderer)

    # -- lookups ---------------------------------------------------------------------------------
    def org_check(self, req: Request, key: str = "org") -> None:
        if req.params[key].lower() != self.world.org_login.lower():
            raise not_found()

    def repo_of(self, req: Request) -> Repository:
        if req.params["owner"].lower() != self.world.org_login.lower():
            raise not_found()
        repo = self.world.repo(req.params["repo"])
        if repo is None:
            raise not_found()
        return repo

    def writable_repo(self, req: Request) -> Repository:
        repo = self.repo_of(req)
        if repo.archived:
            raise ApiError(403, "Repository was archived so is read-only.")
        return repo

    @staticmethod
    def int_param(req: Request, name: str) -> int:
        try:
            return int(req.params[name])
        except ValueError as exc:
            raise not_found() from exc

    def json_body(self, req: Request) -> dict[str, Any]:
        if req.body is None:
            return {}
        if not isinstance(req.body, dict):
            raise ApiError(400, "Problems parsing JSON")
        return req.body

    # -- pagination ------------------------------------------------------------------------------
    def paginate(self, req: Request, items: Sequence[Any]) -> tuple[Sequence[Any], list[tuple[str, str]]]:
        """One page of ``items`` plus a GitHub-format ``Link`` header (absolute URLs on this server)."""
        per_page = _int(req.q("per_page"), 30, 1, 100)
        page = _int(req.q("page"), 1, 1, 10**9)
        last = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        rels: list[tuple[str, int]] = []
        if page > 1:
            rels.append(("prev", min(page - 1, last)))
        if page < last:
            rels += [("next", page + 1), ("last", last)]
        if page > 1:
            rels.append(("first", 1))
        if not rels:
            return chunk, []
        base = f"{self.r.api}{req.path}"
        links = [f'<{base}?{self._query_with_page(req, n)}>; rel="{rel}"' for rel, n in rels]
        return chunk, [("Link", ", ".join(links))]

    @staticmethod
    def _query_with_page(req: Request, page: int) -> str:
        pairs = [(k, v) for k, v in req.query if k != "page"]
        pairs.append(("page", str(page)))
        return urlencode(pairs)

    def page_of(self, req: Request, items: Sequence[Any], render: Any) -> Result:
        chunk, headers = self.paginate(req, items)
        return Result(200, [render(item) for item in chunk], headers)

    def counted_page(self, req: Request, key: str, items: Sequence[Any], render: Any) -> Result:
        """``{total_count, <key>: [...]}`` bodies (Actions, environments)."""
        chunk, headers = self.paginate(req, items)
        return Result(200, {"total_count": len(items), key: [render(item) for item in chunk]}, headers)


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        number = int(value) if value else default
    except ValueError:
        number = default
    return max(low, min(high, number))


def dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
