"""Relay cursor connections as GitHub's GraphQL API serves them: ``first``/``after``, ``last``/``before``,
``pageInfo { hasNextPage endCursor }``, ``totalCount``, ``edges { cursor node }`` and ``nodes``.

A connection pages through a list that is already in the connection's order. Where the order has a key (a pull
request's ``(updatedAt, number)``, a deployment's ``(createdAt, id)``), cursors hold that key, so an item that moves
while a client pages (a pull request updated between two pages jumps to the front of ``UPDATED_AT DESC``) neither
shifts the next page nor comes twice, as with GitHub's cursors; other lists (a pull request's commits) use offsets.
Cursors are opaque base64 strings, as on GitHub; a cursor that is not one of ours is GitHub's
``INVALID_CURSOR_ARGUMENTS`` error.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError

Key = tuple[Any, ...]
CURSOR_PREFIX = "cursor:v2:"
MAX_PAGE = 100  # GitHub's limit for `first` and `last`


def encode_cursor(key: Key) -> str:
    return base64.b64encode((CURSOR_PREFIX + json.dumps(list(key), separators=(",", ":"))).encode()).decode()


def decode_cursor(cursor: str) -> Key:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
        if not text.startswith(CURSOR_PREFIX):
            raise ValueError(text)
        key = json.loads(text[len(CURSOR_PREFIX) :])
        if not isinstance(key, list):
            raise ValueError(text)
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise GraphQLError(
            f"`{cursor}` does not appear to be a valid cursor.", extensions={"type": "INVALID_CURSOR_ARGUMENTS"}
        ) from exc
    return tuple(key)


@dataclass(slots=True)
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@dataclass(slots=True)
class Edge:
    cursor: str
    node: Any


class Connection:
    """One page of ``items`` (already in the connection's order).

    ``key(item)`` gives an item's position in that order as a tuple of JSON values, ascending along the list, or
    descending when ``descending``; without it cursors are offsets. ``wrap`` turns a world object into its GraphQL
    node, for the page only.
    """

    def __init__(
        self,
        items: Sequence[Any],
        wrap: Callable[[Any], Any],
        args: dict[str, Any],
        key: Callable[[Any], Key] | None = None,
        descending: bool = False,
    ) -> None:
        self._items = items
        self._wrap = wrap
        self._key = key
        self._descending = descending
        first, last = args.get("first"), args.get("last")
        start, end = 0, len(items)
        if args.get("after") is not None:
            start = self._position(decode_cursor(args["after"]), inclusive=True)
        if args.get("before") is not None:
            end = max(start, self._position(decode_cursor(args["before"]), inclusive=False))
        if first is not None:
            end = min(end, start + max(0, first))
        if last is not None:
            start = max(start, end - max(0, last))
        self._start, self._end = start, end

    # -- positions -------------------------------------------------------------------------------
    def key_of(self, index: int) -> Key:
        return (index,) if self._key is None else self._key(self._items[index])

    def _position(self, cursor: Key, inclusive: bool) -> int:
        """How many items come before the cursor (and, ``inclusive``, the item at it) in the list's order."""
        if self._key is None:
            if len(cursor) != 1 or not isinstance(cursor[0], int):
                raise GraphQLError(
                    "The cursor does not belong to this connection.", extensions={"type": "INVALID_CURSOR_ARGUMENTS"}
                )
            return max(0, min(len(self._items), cursor[0] + 1 if inclusive else cursor[0]))
        low, high = 0, len(self._items)
        while low < high:
            middle = (low + high) // 2
            if self._comes_before(self.key_of(middle), cursor, inclusive):
                low = middle + 1
            else:
                high = middle
        return low

    def _comes_before(self, key: Key, cursor: Key, inclusive: bool) -> bool:
        try:
            if self._descending:
                return key > cursor or (inclusive and key == cursor)
            return key < cursor or (inclusive and key == cursor)
        except TypeError as exc:
            raise GraphQLError(
                "The cursor does not belong to this connection.", extensions={"type": "INVALID_CURSOR_ARGUMENTS"}
            ) from exc

    # -- fields ----------------------------------------------------------------------------------
    @property
    def total_count(self) -> int:
        return len(self._items)

    @property
    def nodes(self) -> list[Any]:
        return [self._wrap(item) for item in self._items[self._start : self._end]]

    @property
    def edges(self) -> list[Edge]:
        return [
            Edge(encode_cursor(self.key_of(index)), self._wrap(self._items[index]))
            for index in range(self._start, self._end)
        ]

    @property
    def page_info(self) -> PageInfo:
        empty = self._start >= self._end
        return PageInfo(
            has_next_page=self._end < len(self._items),
            has_previous_page=self._start > 0,
            start_cursor=None if empty else encode_cursor(self.key_of(self._start)),
            end_cursor=None if empty else encode_cursor(self.key_of(self._end - 1)),
        )
