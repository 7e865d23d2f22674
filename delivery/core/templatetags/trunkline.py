"""Template filters shared by Trunkline's pages."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def duration(value: timedelta | None) -> str:
    """A duration in the largest units that keep it readable: "180 ms", "4.2 s", "3 min", "2 h 5 min", "3 d"."""
    if value is None:
        return "—"
    seconds = value.total_seconds()
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))} ms"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{round(seconds)} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d"


@register.filter
def seconds(value: float | None) -> str:
    """A number of seconds as `duration` writes it ("—" for None: nothing measured)."""
    return "—" if value is None else duration(timedelta(seconds=float(value)))


@register.filter
def percent(value: float | None) -> str:
    """A share from 0 to 1 as a percentage ("12.5 %", "—" for None: nothing measured)."""
    if value is None:
        return "—"
    shown = f"{100 * float(value):.1f}".removesuffix(".0")
    return f"{shown} %"


@register.filter
def iso(value: str | None) -> datetime | None:
    """A time written in ISO 8601 (as JSON keeps it: reports, evidence rows) as a datetime for `|date`."""
    return None if not value else datetime.fromisoformat(value)


@register.filter
def since(later: datetime | None, earlier: datetime | None) -> timedelta | None:
    """`later|since:earlier` → the time between them (None if either is missing)."""
    if later is None or earlier is None:
        return None
    return later - earlier


@register.filter
def plus_minutes(moment: datetime | None, minutes: int | None) -> datetime | None:
    """`moment|plus_minutes:30`: e.g. when a watch window ends."""
    if moment is None:
        return None
    return moment + timedelta(minutes=int(minutes or 0))


_SLACK_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")
_SLACK_BARE = re.compile(r"<(https?://[^>]+)>")
_SLACK_EMOJI = re.compile(r":[a-z0-9_+-]+:")


@register.filter
def slack_plain(text: str) -> str:
    """A Slack message as plain words for the app: links by their labels, no emoji codes or bold stars."""
    text = _SLACK_LINK.sub(r"\2", text or "")
    text = _SLACK_BARE.sub(r"\1", text)
    text = _SLACK_EMOJI.sub("", text).replace("*", "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


_SLACK_ANY_LINK = re.compile(r"<([^|>]+)\|([^>]+)>|<(https?://[^>]+)>")


def _slack_words(text: str) -> str:
    text = _SLACK_EMOJI.sub("", text).replace("*", "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@register.filter
def slack_html(text: str, limit: int = 160) -> SafeString:
    """A Slack message for the app's pages: its links as links (to Trunkline's own pages or http(s) addresses; any
    other target reads as words), no emoji codes or bold stars, and its words shortened to about `limit` characters
    at a word boundary with an ellipsis (links are kept whole: they are what the notice points at)."""
    parts: list[tuple[str, str]] = []  # (words, url or "")
    at = 0
    for match in _SLACK_ANY_LINK.finditer(text or ""):
        parts.append((_slack_words(text[at : match.start()]), ""))
        url, label = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(3))
        safe = url.startswith(("http://", "https://")) or (url.startswith("/") and not url.startswith("//"))
        parts.append((_slack_words(label), url if safe else ""))
        at = match.end()
    parts.append((_slack_words(text[at:]), ""))
    parts = [(re.sub(r"\s+", " ", words), url) for words, url in parts]
    budget = limit - sum(len(words) for words, url in parts if url)
    html, cut = [], False
    for words, url in parts:
        if url:
            html.append(f'<a href="{escape(url)}">{escape(words.strip())}</a>')
            continue
        if cut:
            html.append(" ")
            continue
        if len(words) > budget:
            room = words[: max(budget - 1, 0)]
            room = room[: room.rfind(" ")] if " " in room.strip() else room
            words, cut = room.rstrip(" .,;:·—-") + "… ", True
        budget -= len(words)
        html.append(escape(words))
    joined = re.sub(r"\s+", " ", "".join(html)).strip()
    return mark_safe(joined)  # noqa: S308 - every piece escaped above


def ago_text(then: datetime, now: datetime) -> str:
    """ "just now", "12 min ago", "3 h ago", "5 d ago": naturaltime's meaning at a fraction of its cost (the board
    shows one per card)."""
    seconds = (now - then).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


@register.inclusion_tag("_filter_select.html")
def filter_select(name: str, choices: list[str], value: str, everything: str, missing: str) -> dict[str, object]:
    """A filter's <select>: a value from the URL that is not among the choices stays selected and says so, so the
    page never shows "All repositories" over a board filtered by acme/nope."""
    return {
        "name": name,
        "choices": choices,
        "value": value,
        "everything": everything,
        "missing": missing,
        "unknown": bool(value) and value not in choices,
    }
