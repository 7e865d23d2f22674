"""Organization and repository webhooks: create, read, update, ping, and their delivery logs.

A new active hook gets GitHub's ``ping``. Deliveries are listed newest first with GitHub's cursor
pagination (``cursor`` + ``Link: <...>; rel="next"``) and ``status=success|failure``; a delivery can
be redelivered (same payload and GUID, ``redelivery: true``) through ``.../attempts``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from . import payloads
from .api_base import ApiBase, ApiError, Request, Result, invalid, not_found
from .models import Hook, Repository
from .webhook_log import DeliveryRecord

if TYPE_CHECKING:
    from .webhooks import WebhookSender

CONTENT_TYPES = ("json", "form")
CONFIG_KEYS = ("url", "content_type", "secret", "insecure_ssl")
CURSOR_PREFIX = "v1_"


class HookApi(ApiBase):
    webhooks: WebhookSender | None = None  # set by the server; without it hooks exist but deliver nothing

    # -- lookups ---------------------------------------------------------------------------------
    def _org_hook(self, req: Request) -> Hook:
        self.org_check(req)
        hook = self.world.org.hooks.get(self.int_param(req, "hook_id"))
        if hook is None:
            raise not_found()
        return hook

    def _repo_hook(self, req: Request) -> Hook:
        repo = self.repo_of(req)
        hook = repo.hooks.get(self.int_param(req, "hook_id"))
        if hook is None:
            raise not_found()
        return hook

    def _render(self, hook: Hook) -> dict[str, Any]:
        return self.r.repo_hook(hook) if hook.repo is not None else self.r.org_hook(hook)

    # -- hooks -----------------------------------------------------------------------------------
    def list_org_hooks(self, req: Request) -> Result:
        self.org_check(req)
        return self.page_of(req, list(self.world.org.hooks.values()), self.r.org_hook)

    def list_repo_hooks(self, req: Request) -> Result:
        repo = self.repo_of(req)
        return self.page_of(req, list(repo.hooks.values()), self.r.repo_hook)

    def create_org_hook(self, req: Request) -> Result:
        self.org_check(req)
        hook = self._create(self.json_body(req), None, req)
        return Result(201, self.r.org_hook(hook))

    def create_repo_hook(self, req: Request) -> Result:
        repo = self.writable_repo(req)
        hook = self._create(self.json_body(req), repo, req)
        return Result(201, self.r.repo_hook(hook))

    def get_org_hook(self, req: Request) -> Result:
        return Result(200, self.r.org_hook(self._org_hook(req)))

    def get_repo_hook(self, req: Request) -> Result:
        return Result(200, self.r.repo_hook(self._repo_hook(req)))

    def update_org_hook(self, req: Request) -> Result:
        hook = self._org_hook(req)
        self._update(hook, self.json_body(req))
        return Result(200, self.r.org_hook(hook))

    def update_repo_hook(self, req: Request) -> Result:
        hook = self._repo_hook(req)
        self._update(hook, self.json_body(req))
        return Result(200, self.r.repo_hook(hook))

    def ping_org_hook(self, req: Request) -> Result:
        self._ping(self._org_hook(req), req)
        return Result(204)

    def ping_repo_hook(self, req: Request) -> Result:
        self._ping(self._repo_hook(req), req)
        return Result(204)

    def _create(self, body: dict[str, Any], repo: Repository | None, req: Request | None) -> Hook:
        now = self.world.clock()
        hook = Hook(
            id=self.world.next_id("hook"),
            name=str(body.get("name") or "web"),
            events=_events(body.get("events", ["push"])),
            active=_bool(body.get("active", True), "active"),
            config=_config(body.get("config")),
            created_at=now,
            updated_at=now,
            repo=repo,
        )
        (repo.hooks if repo is not None else self.world.org.hooks)[hook.id] = hook
        if repo is not None:
            self.world.touch(repo)
        if hook.active:
            self._ping(hook, req)
        return hook

    def install_org_hook(self, url: str, secret: str | None) -> Hook:
        """The hook ``--webhook-url`` asks for: every event, JSON. Reused (updated) if the URL has one already."""
        config: dict[str, Any] = {"url": url, "content_type": "json", "insecure_ssl": "0"}
        if secret:
            config["secret"] = secret
        body = {"config": config, "events": ["*"], "active": True}
        for hook in self.world.org.hooks.values():
            if hook.config.get("url") == url:
                self._update(hook, body)
                return hook
        return self._create(body, None, None)

    def _update(self, hook: Hook, body: dict[str, Any]) -> None:
        """GitHub's PATCH: a new ``config`` replaces the old one (a secret not sent again is removed)."""
        if "config" in body:
            hook.config = _config(body["config"])
        if "events" in body:
            hook.events = _events(body["events"])
        if hook.repo is not None:  # repository hooks also take add_events / remove_events
            added, removed = _events(body.get("add_events", [])), set(_events(body.get("remove_events", [])))
            hook.events = [e for e in dict.fromkeys([*hook.events, *added]) if e not in removed]
        if "active" in body:
            hook.active = _bool(body["active"], "active")
        hook.updated_at = self.world.clock()
        if hook.repo is not None:
            self.world.touch(hook.repo)

    def _ping(self, hook: Hook, req: Request | None) -> None:
        if self.webhooks is not None:
            sender = req.user if req is not None and req.user is not None else self.world.service_account
            self.webhooks.ping(hook, payloads.for_world(self.world).ping(hook, sender))

    # -- deliveries ------------------------------------------------------------------------------
    def list_org_hook_deliveries(self, req: Request) -> Result:
        return self._deliveries(req, self._org_hook(req))

    def list_repo_hook_deliveries(self, req: Request) -> Result:
        return self._deliveries(req, self._repo_hook(req))

    def get_org_hook_delivery(self, req: Request) -> Result:
        return Result(200, self._delivery(req, self._org_hook(req)).detail())

    def get_repo_hook_delivery(self, req: Request) -> Result:
        return Result(200, self._delivery(req, self._repo_hook(req)).detail())

    def redeliver_org_hook_delivery(self, req: Request) -> Result:
        return self._redeliver(req, self._org_hook(req))

    def redeliver_repo_hook_delivery(self, req: Request) -> Result:
        return self._redeliver(req, self._repo_hook(req))

    def _deliveries(self, req: Request, hook: Hook) -> Result:
        status = req.q("status")
        if status not in (None, "", "success", "failure"):
            raise invalid("Validation Failed", errors=[{"resource": "Delivery", "field": "status", "code": "invalid"}])
        records = self.webhooks.log.newest_first(hook.id, status or None) if self.webhooks else []
        per_page = _per_page(req.q("per_page"))
        start = 0
        cursor = req.q("cursor")
        if cursor:
            if not cursor.startswith(CURSOR_PREFIX) or not cursor[len(CURSOR_PREFIX) :].isdigit():
                raise ApiError(400, "Invalid cursor")
            first_id = int(cursor[len(CURSOR_PREFIX) :])
            start = next((i for i, r in enumerate(records) if r.id <= first_id), len(records))
        page = records[start : start + per_page]
        headers = []
        if start + per_page < len(records):  # the next page starts at its newest delivery
            query = [("per_page", str(per_page))]
            if status:
                query.append(("status", status))
            query.append(("cursor", f"{CURSOR_PREFIX}{records[start + per_page].id}"))
            headers.append(("Link", f'<{self.r.api}{req.path}?{urlencode(query)}>; rel="next"'))
        return Result(200, [r.summary() for r in page], headers)

    def _delivery(self, req: Request, hook: Hook) -> DeliveryRecord:
        record = self.webhooks.log.get(hook.id, self.int_param(req, "delivery_id")) if self.webhooks else None
        if record is None:
            raise not_found()
        return record

    def _redeliver(self, req: Request, hook: Hook) -> Result:
        record = self._delivery(req, hook)
        assert self.webhooks is not None
        self.webhooks.redeliver(hook, record)
        return Result(202, {})


def _per_page(value: str | None) -> int:
    try:
        number = int(value) if value else 30
    except ValueError:
        number = 30
    return max(1, min(100, number))


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise invalid(f"Invalid request.\n\nFor 'properties/{name}', {value!r} is not a boolean.")
    return value


def _events(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(e, str) and e for e in value):
        raise invalid("Invalid request.\n\nFor 'properties/events', is not an array of strings.")
    return list(dict.fromkeys(value))


def _config(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not value.get("url"):
        raise invalid(
            "Validation Failed",
            errors=[{"resource": "Hook", "code": "custom", "message": "Config must contain URL for webhooks"}],
        )
    config = {key: value[key] for key in CONFIG_KEYS if value.get(key) not in (None, "")}
    config["url"] = str(config["url"])
    if config.setdefault("content_type", "form") not in CONTENT_TYPES:
        raise invalid("Validation Failed", errors=[{"resource": "Hook", "field": "content_type", "code": "invalid"}])
    config["insecure_ssl"] = str(config.get("insecure_ssl", "0"))
    return config
