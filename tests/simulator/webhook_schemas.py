"""GitHub's webhook payload schemas (octokit/webhooks), ready for ``jsonschema`` to check payloads against.

Their ``$id``s are relative (``common/user.schema.json``, ``push$event``) and their ``$ref``s resolve
against them, so every file goes into one ``referencing`` registry under its own ``$id``.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from .openapi import REPO_ROOT

SCHEMAS = REPO_ROOT / "tests" / "fixtures" / "github" / "webhook-schemas"
# Events whose payloads have no ``action``: one ``event.schema.json`` each.
NO_ACTION = frozenset({"push", "create", "delete", "ping"})

# Simple ``date-time`` and ``uri`` checks (jsonschema's own need optional packages that are not installed).
# ``uri`` matters beyond strictness: ``environment_url`` is "a uri, or exactly ''" through a ``oneOf``.
FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if isinstance(value, str):
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


@FORMATS.checks("uri")
def _uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and bool(parts.netloc or parts.path) and " " not in value


@functools.cache
def _registry() -> Registry:
    resources = []
    for path in SCHEMAS.rglob("*.schema.json"):
        contents = json.loads(path.read_text())
        resources.append((contents["$id"], Resource.from_contents(contents, default_specification=DRAFT7)))
    return Registry().with_resources(resources)


def schema_path(event: str, action: str | None) -> Path:
    return SCHEMAS / event / ("event.schema.json" if event in NO_ACTION else f"{action}.schema.json")


@functools.cache
def validator(event: str, action: str | None) -> Draft7Validator:
    schema = json.loads(schema_path(event, action).read_text())
    return Draft7Validator(schema, registry=_registry(), format_checker=FORMATS)


def errors(event: str, action: str | None, payload: Any) -> list[str]:
    """Why ``payload`` is not a valid ``event``/``action`` webhook payload (empty: it is)."""
    if not schema_path(event, action).exists():
        return [f"{event}/{action}: GitHub's webhook schemas have no such event/action"]
    found = []
    for error in validator(event, action).iter_errors(payload):
        where = "/".join(str(p) for p in error.absolute_path) or "<root>"
        found.append(f"{event}/{action} at {where}: {error.message[:300]}")
    return found
