"""Filters kept in a page's URL (the board's, the webhook deliveries'): a value that names nothing is said in
words ("No repository acme/nope") rather than answered with an empty page that looks like a first run."""

from __future__ import annotations

from collections.abc import Collection, Mapping


def filter_misses(filters: Mapping[str, str], known: Mapping[str, Collection[str]]) -> list[str]:
    """ "No <filter> <value>" for each filter whose value is not among the known values of that filter (filters
    without a known list are not judged)."""
    return [
        f"No {name} {value}" for name, value in filters.items() if value and name in known and value not in known[name]
    ]
