"""The request as Trunkline's views see it, for the type checker: django-htmx's middleware adds `request.htmx`
(django-htmx's documented pattern), and every page but sign-in is behind LoginRequiredMiddleware, so a view's
`request.user` is a signed-in User."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import User
from django.http import HttpRequest, JsonResponse
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class SignedInRequest(HtmxHttpRequest):
    user: User


def request_body(request: HttpRequest, *, limit: int) -> bytes | None:
    """The raw body of a webhook's request, or None when it is over `limit` bytes (declared or sent). Read from the
    stream: `request.body` would refuse bodies over DATA_UPLOAD_MAX_MEMORY_SIZE, and a signature is over the exact
    bytes."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


def webhook_answer(code: int, message: str, **extra: object) -> JsonResponse:
    """What a webhook's sender is told: a status and the reason in words (its delivery log shows it)."""
    return JsonResponse({"message": message, **extra}, status=code)


def webhook_body(
    request: HttpRequest, *, secret: str, setting: str, limit: int, header: str, signed: Callable[..., bool]
) -> bytes | JsonResponse:
    """The raw body of a webhook's request once it is known to be the sender's (`signed(secret=, body=, header=)`
    says so of the `header` it sent), or the answer that says why not: 503 while the secret (`setting`) is not set,
    413 for a body over `limit` bytes, 401 for a missing or wrong signature."""
    if not secret:
        return webhook_answer(503, f"webhooks are not configured on this Trunkline ({setting})")
    body = request_body(request, limit=limit)
    if body is None:
        return webhook_answer(413, f"body over {limit // (1024 * 1024)} MB")
    if not signed(secret=secret, body=body, header=request.headers.get(header, "")):
        return webhook_answer(401, f"missing or wrong {header}")
    return body
