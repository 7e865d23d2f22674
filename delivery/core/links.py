"""Page addresses for lists of hundreds (board cards, queue items): one reverse() per page name and process, then
a string replacement per item, instead of a reverse() per item."""

from __future__ import annotations

import functools
from urllib.parse import quote

from django.urls import get_script_prefix, reverse

_MARK = "987654321"  # fits every converter our item pages use (int and str)


@functools.cache
def _pattern(name: str, script_prefix: str) -> str:
    return reverse(name, args=[_MARK])


def page_url(name: str, arg: object) -> str:
    """reverse(name, args=[arg]) for a page that takes one argument, without its cost."""
    return _pattern(name, get_script_prefix()).replace(_MARK, quote(str(arg)), 1)
