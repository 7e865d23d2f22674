"""Page addresses: cheap ones for lists of hundreds (board cards, queue items: one reverse() per page name and
process, then a string replacement per item), and absolute ones for messages that leave Trunkline (Slack)."""

from __future__ import annotations

import functools
from urllib.parse import quote

from django.conf import settings
from django.urls import get_script_prefix, reverse

_MARK = "987654321"  # fits every converter our item pages use (int and str)


@functools.cache
def _pattern(name: str, script_prefix: str) -> str:
    return reverse(name, args=[_MARK])


def page_url(name: str, arg: object) -> str:
    """reverse(name, args=[arg]) for a page that takes one argument, without its cost."""
    return _pattern(name, get_script_prefix()).replace(_MARK, quote(str(arg)), 1)


def absolute_url(path: str) -> str:
    """The page's address as someone outside Trunkline follows it (TRUNKLINE_PUBLIC_URL + path)."""
    return settings.TRUNKLINE_PUBLIC_URL.rstrip("/") + path if settings.TRUNKLINE_PUBLIC_URL else path


def page_absolute_url(name: str, *args: object) -> str:
    return absolute_url(reverse(name, args=list(args)))
