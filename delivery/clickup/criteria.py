"""A task's acceptance criteria, as product wrote them in ClickUp: the items of its checklists, and the lines of its
description's section headed "Acceptance criteria" where the workspace writes them there. Pure: a task's JSON in,
the criteria out, each once, in order (tests/clickup/test_criteria.py)."""

from __future__ import annotations

import re
from typing import Any

MAX_CRITERIA = 30
MAX_LENGTH = 300  # a watch's checklist item (monitoring.ChecklistItem.text)

_BOLD = r"(?:\*\*|__)?"
_HEADING = re.compile(r"^\s*(?:#{1,6}\s*)?" + _BOLD + r"\s*acceptance\s+criteria\s*:?\s*" + _BOLD + r"\s*:?\s*$", re.I)
_OTHER_HEADING = re.compile(r"^\s*(?:#{1,6}\s|(?:\*\*|__).+(?:\*\*|__)\s*:?\s*$|.{1,60}:\s*$)")
_MARKER = re.compile(r"^\s*(?:(?:[-*•+]|\d{1,3}[.)])\s+)?\[[ xX]?\]\s*|^\s*(?:[-*•+]|\d{1,3}[.)])\s+")


def acceptance_criteria(task: dict[str, Any]) -> list[str]:
    """The checklist items (every checklist, nested items after their parent), then the description's section."""
    found: dict[str, None] = {}
    for checklist in _list(task.get("checklists")):
        for item in _items(checklist):
            _add(found, item)
    description = task.get("text_content") or task.get("description") or ""
    if isinstance(description, str):
        for line in description_criteria(description):
            _add(found, line)
    return list(found)[:MAX_CRITERIA]


def description_criteria(text: str) -> list[str]:
    """The lines under a heading "Acceptance criteria" (Markdown or plain; a colon or bold allowed), bullets and
    check boxes taken off, up to the next heading or the first blank line after an item."""
    lines = text.replace("\r\n", "\n").split("\n")
    start = next((i for i, line in enumerate(lines) if _HEADING.match(line)), None)
    if start is None:
        return []
    found: list[str] = []
    for line in lines[start + 1 :]:
        if not line.strip():
            if found:
                break
            continue
        marker = _MARKER.match(line)
        if marker is None and _OTHER_HEADING.match(line):
            break
        item = line[marker.end() :].strip() if marker else line.strip()
        if item:
            found.append(item)
    return found


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _items(checklist: Any) -> list[str]:
    if not isinstance(checklist, dict):
        return []
    names: list[str] = []
    for item in _list(checklist.get("items")):
        if isinstance(item, dict):
            names.append(str(item.get("name") or ""))
            names += [str(child.get("name") or "") for child in _list(item.get("children")) if isinstance(child, dict)]
    return names


def _add(found: dict[str, None], text: str) -> None:
    text = " ".join(text.split())[:MAX_LENGTH]
    if text:
        found.setdefault(text)
