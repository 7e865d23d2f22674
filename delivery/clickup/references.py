"""Task references in a branch name, a pull request's title or body: which ClickUp tasks a change is about.

Pure functions over text and the workspace's rules (no database, no network), so every form and every false positive
is pinned by a test (tests/clickup/test_references.py). The forms:

- `CU-abc123`: ClickUp's own id (lowercase letters and digits, at least one digit), as ClickUp's GitHub integration
  writes it; `cu-abc123` in a branch name too.
- `#abc123`: only when the workspace says so (`CLICKUP_HASH_IDS`), because `#123` is how GitHub names a pull request
  or an issue: an id of digits alone after `#` is never a task, and an id needs a letter and a digit. Even so a
  colour such as `#fff000` in a body reads as a task: that is why the form is the workspace's choice.
- `PRJ-123`: a custom task id, for the prefixes the workspace configured (`CLICKUP_CUSTOM_ID_PREFIXES`; ClickUp sets
  one per Space). `prj-123` in a branch name too. An unconfigured prefix is not a task: `UTF-8`, `ISO-8601`, `SHA-256`
  and `RFC-7231` are words, not tasks.
- `https://app.clickup.com/t/abc123` and `https://app.clickup.com/t/<workspace>/PRJ-123`: a task's address, whatever
  its prefix (the address says it is a task).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

APP_URL = "https://app.clickup.com"
_EDGE_BEFORE = r"(?<![0-9A-Za-z])"
_EDGE_AFTER = r"(?![0-9A-Za-z])"
_NATIVE = r"(?=[0-9a-z]*[0-9])[0-9a-z]{4,16}"  # ClickUp's ids: lowercase base-36, with a digit somewhere
_URL = re.compile(
    r"https?://app\.clickup\.com/t/(?:(?P<team>\d+)/(?P<custom>[A-Za-z][A-Za-z0-9]*-\d+)|(?P<native>[0-9a-z]+))"
    + _EDGE_AFTER
)
_CU = re.compile(_EDGE_BEFORE + r"(?i:CU-(?P<id>" + _NATIVE + "))" + _EDGE_AFTER)
# After `#`: not an HTML entity (`&#123;`), a URL's fragment (`page#section2`) or a word's end (`C#`).
_HASH = re.compile(r"(?<![0-9A-Za-z&/#])#(?P<id>(?=[0-9a-z]*[a-z])" + _NATIVE + ")" + _EDGE_AFTER)


@dataclass(frozen=True)
class TaskReference:
    """One task, as a change names it: ClickUp's own id (`custom` False) or a custom id such as PRJ-123."""

    task_id: str
    custom: bool = False

    def url(self, *, team_id: str = "") -> str:
        """The task's address in ClickUp's app (before ClickUp has said anything of it)."""
        if self.custom and team_id:
            return f"{APP_URL}/t/{team_id}/{self.task_id}"
        return f"{APP_URL}/t/{self.task_id}"


@dataclass(frozen=True)
class ReferenceRules:
    """What counts as a task reference in this workspace."""

    custom_prefixes: tuple[str, ...] = ()
    hash_ids: bool = False

    @classmethod
    def from_settings(cls) -> ReferenceRules:
        prefixes = tuple(p.strip().upper() for p in settings.CLICKUP_CUSTOM_ID_PREFIXES if p.strip())
        return cls(custom_prefixes=prefixes, hash_ids=settings.CLICKUP_HASH_IDS)

    def custom_pattern(self) -> re.Pattern[str] | None:
        if not self.custom_prefixes:
            return None
        names = "|".join(re.escape(p) for p in sorted(self.custom_prefixes, key=len, reverse=True))
        return re.compile(_EDGE_BEFORE + r"(?P<id>(?i:" + names + r")-\d{1,9})" + _EDGE_AFTER)


def task_references(texts: Iterable[str], *, rules: ReferenceRules) -> list[TaskReference]:
    """Every task the texts name, each once, in the order first named (a branch name, a title, a body)."""
    found: dict[TaskReference, None] = {}
    custom = rules.custom_pattern()
    for text in texts:
        if not text:
            continue
        for match in _URL.finditer(text):
            if match["custom"]:
                found.setdefault(TaskReference(match["custom"].upper(), custom=True))
            else:
                found.setdefault(TaskReference(match["native"]))
        rest = _URL.sub(" ", text)  # an address is read once, as an address
        spans: list[tuple[int, TaskReference]] = []
        if custom is not None:
            spans += [(m.start(), TaskReference(m["id"].upper(), custom=True)) for m in custom.finditer(rest)]
        spans += [
            (m.start(), TaskReference(m["id"].lower()))
            for m in _CU.finditer(rest)
            if not (custom is not None and custom.fullmatch(m.group(0)))  # CU as a configured prefix: custom
        ]
        if rules.hash_ids:
            spans += [(m.start(), TaskReference(m["id"])) for m in _HASH.finditer(rest)]
        for _, reference in sorted(spans, key=lambda s: s[0]):
            found.setdefault(reference)
    return list(found)
