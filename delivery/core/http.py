"""The request as Trunkline's views see it, for the type checker: django-htmx's middleware adds `request.htmx`
(django-htmx's documented pattern), and every page but sign-in is behind LoginRequiredMiddleware, so a view's
`request.user` is a signed-in User."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class SignedInRequest(HtmxHttpRequest):
    user: User
