"""What every transport of the notices (Slack, ClickUp) raises when a send does not arrive."""

from __future__ import annotations


class TransportError(Exception):
    """A send that did not arrive. `permanent`: trying again cannot help. `retry_after`: the service said when to try
    again (seconds: Slack's Retry-After, the time to ClickUp's X-RateLimit-Reset)."""

    def __init__(self, reason: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after
