"""A heartbeat on a claimed row: while a worker holds a claim, a thread of its own renews the claim's time, so a
short stale-claim time tells a dead worker (no heartbeat) from a slow one (still beating)."""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from django.db import DatabaseError, connections
from django.db.models import QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)


class ClaimHeartbeat:
    """`with ClaimHeartbeat(rows, field="claim_heartbeat_at", every=15):` sets `field` to now on `rows` (a
    queryset that names the claim: its row and its token, so a lost claim is never renewed) every `every`
    seconds until the block ends. It writes on a connection of its own, outside the block's transaction; a block
    shorter than `every` never touches the database. A process that dies stops beating with it."""

    def __init__(self, rows: QuerySet, *, field: str, every: float) -> None:
        self._rows = rows
        self._field = field
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"claim-heartbeat-{field}", daemon=True)

    def __enter__(self) -> ClaimHeartbeat:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self._every):
                try:
                    if not self._rows.update(**{self._field: timezone.now()}):
                        return  # finished, or taken over: nothing of ours left to renew
                except DatabaseError as exc:  # the next beat tries again; staleness is measured generously
                    logger.warning("claim heartbeat not written: %s", exc)
        finally:
            connections.close_all()  # this thread's own connections
