"""Real concurrency for the tests of races the database closes: threads released together, each on its own
database connection (PostgreSQL; SQLite serializes writers)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.db import connections

T = TypeVar("T")


def at_once(work: Callable[[], T], threads: int) -> list[T]:
    """Run `work` in `threads` threads released together, each on its own database connection."""
    start = threading.Barrier(threads)

    def run(_: int) -> T:
        try:
            start.wait()
            return work()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(run, range(threads)))
