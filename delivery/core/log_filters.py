"""Log filters. A refusal (PermissionDenied: the person's role does not allow the action) is an expected answer, not
a bug: Django logs it as a warning with the exception's traceback attached, which a log reader takes for an error."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied


class ExpectedRefusals(logging.Filter):
    """On django.request: a 403 from PermissionDenied becomes one line saying who was refused what, and why."""

    def filter(self, record: logging.LogRecord) -> bool:
        refusal = record.exc_info[1] if record.exc_info else None
        if isinstance(refusal, PermissionDenied):
            user = getattr(getattr(record, "request", None), "user", None)
            who = user.get_username() if user is not None and getattr(user, "is_authenticated", False) else "anonymous"
            reason = str(refusal) or "no reason given"
            record.msg = f"{record.getMessage()} ({who}): {reason}".replace("%", "%%")
            record.args = ()
            record.exc_info = record.exc_text = None
        return True
