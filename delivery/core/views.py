from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponseServerError, JsonResponse
from django.template import loader
from django.views.decorators.cache import never_cache

from delivery.core.health import broker_check, database_check, worker_check


@login_not_required
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and monitors: the database, the broker, and a worker heartbeat within the limit.
    200 when all are well, else 503 naming what is failing; never a secret (no URLs, no hosts)."""
    worker, age = worker_check()
    checks = {"database": database_check(), "broker": broker_check(), "worker": worker}
    healthy = all(v == "ok" for v in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "failing", "checks": checks, "worker_heartbeat_age_seconds": age},
        status=200 if healthy else 503,
    )


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponseServerError:
    """The product's 500 page, rendered without the request's context processors (no session, no database: they
    may be what failed) and without the static files' manifest (it may be missing); a plain answer if even the
    template fails."""
    body: str
    try:
        body = loader.render_to_string(template_name, {"static_url": settings.STATIC_URL})
    except Exception:  # the page itself broken: the person still gets an answer, the log has the cause
        logging.getLogger(__name__).exception("the 500 page could not be rendered")
        body = "<!doctype html><title>Server error</title><h1>Something went wrong</h1><p><a href='/'>Trunkline</a></p>"
    return HttpResponseServerError(body)
