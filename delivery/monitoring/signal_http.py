"""What the watch's two signal clients share (Prometheus, Sentry): one GET with a timeout whose every failure becomes a
`SignalReadError` in words, never an exception on a page. The reads run in a Celery task; a failed read is counted
(monitoring.verdicts: inconclusive after ERRORS_BEFORE_INCONCLUSIVE in a row) and tried again at the next one."""

from __future__ import annotations

import json
from typing import Any

import requests

MAX_BODY = 5_000_000
"""An answer longer than this is not one the watch asked for (60 points a series, 100 issues)."""


class SignalReadError(Exception):
    """A read that gave no answer to judge: the source down, refusing, rate limited, or answering nonsense. The words
    are what the watch page shows."""


def get_json(
    session: requests.Session, url: str, *, params: dict[str, Any], timeout: float, source: str
) -> tuple[int, Any, requests.Response]:
    """GET `url` and read its JSON: (status, body, response). No answer, or one that is not JSON, is a
    SignalReadError naming `source`; what a status means is the caller's."""
    try:
        response = session.get(url, params=params, timeout=timeout, stream=True)
    except requests.Timeout as exc:
        raise SignalReadError(f"{source} did not answer within {timeout:g} s") from exc
    except requests.RequestException as exc:
        raise SignalReadError(f"{source} is not reachable ({exc.__class__.__name__})") from exc
    body = bytearray()
    try:
        for chunk in response.iter_content(chunk_size=65536):
            body += chunk
            if len(body) > MAX_BODY:
                raise SignalReadError(f"{source} answered {response.status_code} with more than {MAX_BODY:,} bytes")
    except requests.RequestException as exc:
        raise SignalReadError(f"{source}'s answer broke off ({exc.__class__.__name__})") from exc
    finally:
        response.close()
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SignalReadError(f"{source} answered {response.status_code} with a body that is not JSON") from exc
    return response.status_code, data, response
