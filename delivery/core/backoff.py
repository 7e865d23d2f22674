"""How long to wait before trying an outside service again: one rule for GitHub and Slack (and the next ones)."""

from __future__ import annotations

import random


def backoff_seconds(attempt: int, *, base: float, cap: float) -> float:
    """The wait before try `attempt + 1` (the first retry is attempt 0): exponential from `base`, capped at `cap`,
    with jitter between half and all of it, so a burst of failures does not come back as one burst."""
    ceiling = min(cap, base * (2 ** max(0, attempt)))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - not cryptographic
