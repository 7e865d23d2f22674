"""Label matchers as Alertmanager writes them (`service="billing", env=~"prod.*"`): the repository's settings say which
alerts are its own with them. Pure: parsed and judged here, stored as the text an admin typed.

The syntax is Alertmanager 0.25's `labels.ParseMatchers` (pkg/labels/parse.go): an optional `{…}`, matchers separated
by commas outside double quotes, each a label name, one of `=` `!=` `=~` `!~`, and a value, quoted or not, with
OpenMetrics escapes (`\\"`, `\\n`, `\\\\`). A regular expression is anchored, as Alertmanager anchors it (`^(?:…)$`);
constructs Go's RE2 lacks (lookarounds, backreferences) are refused, so a matcher means here what it means there. A
label an alert lacks has the value "" (`env!="production"` matches an alert without `env`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

MAX_MATCHERS_TEXT = 500
"""The settings' columns; a matcher list is a line or two."""

_MATCHER = re.compile(r"\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*?)\s*", re.DOTALL)
_NOT_RE2 = re.compile(r"\(\?[=!]|\(\?<[=!]|\\[1-9]|\(\?P=")
"""Lookaheads, lookbehinds and backreferences: Python has them, RE2 (Alertmanager's) does not."""


class LabelMatcherError(ValueError):
    """Matchers that cannot be read, in words for the admin who typed them."""


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str  # = != =~ !~
    value: str
    pattern: re.Pattern[str] | None = field(default=None, compare=False)

    def matches(self, labels: Mapping[str, str]) -> bool:
        found = labels.get(self.name, "")
        if self.op == "=":
            return found == self.value
        if self.op == "!=":
            return found != self.value
        assert self.pattern is not None
        hit = self.pattern.fullmatch(found) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op}"{escaped}"'


def matchers_parse(text: str) -> list[Matcher]:
    """The matchers of `text` (none for blank text), or LabelMatcherError saying which one is wrong and why."""
    text = text.strip()
    text = text.removeprefix("{").removesuffix("}")
    return [_matcher(token) for token in _tokens(text)]


def matchers_match(matchers: list[Matcher], labels: Mapping[str, str]) -> bool:
    """Every matcher matches (an empty list matches nothing: a repository without matchers owns no alert)."""
    return bool(matchers) and all(m.matches(labels) for m in matchers)


def matchers_text(matchers: list[Matcher]) -> str:
    """The matchers written back as Alertmanager prints them: `service="billing", env="production"`."""
    return ", ".join(str(m) for m in matchers)


def _tokens(text: str) -> list[str]:
    """Split on commas outside quotes (a backslash-escaped quote does not open or close one)."""
    tokens: list[str] = []
    token: list[str] = []
    inside = escaped = False
    for char in text:
        if char == "," and not inside:
            tokens.append("".join(token))
            token = []
            continue
        if char == '"':
            if escaped:
                escaped = False
            else:
                inside = not inside
        elif char == "\\":
            escaped = not escaped
        else:
            escaped = False
        token.append(char)
    if "".join(token).strip():
        tokens.append("".join(token))
    return tokens


def _matcher(token: str) -> Matcher:
    found = _MATCHER.fullmatch(token)
    if found is None:
        shown = token.strip()[:60] or "(nothing between two commas)"
        raise LabelMatcherError(
            f'“{shown}” is not a matcher: write a label name, then = != =~ or !~, then a value, e.g. service="billing".'
        )
    name, op, raw = found.groups()
    value = _unquote(raw, token)
    pattern = None
    if op in ("=~", "!~"):
        if _NOT_RE2.search(value):
            raise LabelMatcherError(
                f"{name}{op}: Alertmanager's regular expressions (RE2) have no lookarounds or backreferences."
            )
        try:
            pattern = re.compile(f"(?:{value})", re.DOTALL)
        except re.error as exc:
            raise LabelMatcherError(f"{name}{op}: not a regular expression ({exc}).") from exc
    return Matcher(name, op, value, pattern)


def _unquote(raw: str, token: str) -> str:
    """The value with OpenMetrics escapes undone; an unescaped quote may only open and close it."""
    quoted = raw.startswith('"')
    if quoted:
        raw = raw[1:]
    value: list[str] = []
    escaped = False
    for i, char in enumerate(raw):
        if escaped:
            escaped = False
            value.append({"n": "\n", '"': '"', "\\": "\\"}.get(char, "\\" + char))
            continue
        if char == "\\" and i < len(raw) - 1:
            escaped = True
        elif char == '"':
            if not quoted or i < len(raw) - 1:
                raise LabelMatcherError(
                    f"“{token.strip()[:60]}”: a double quote inside the value needs a \\ before it."
                )
            quoted = False
        else:
            value.append(char)
    if quoted:
        raise LabelMatcherError(f"“{token.strip()[:60]}”: the value's closing double quote is missing.")
    return "".join(value)
