from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
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
