"""Pages of the GitHub mirror: the repository list with sync status (the home page for now), a manual
"sync now", and the health check."""

from __future__ import annotations

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from delivery.github.models import Repository, SyncRun
from delivery.github.selectors import organization_sync_totals, repository_list_with_sync_status
from delivery.github.tasks import sync_repository_task


def repository_list(request: HttpRequest) -> HttpResponse:
    repositories = list(repository_list_with_sync_status())
    context = {
        "repositories": repositories,
        "totals": {"repositories": len(repositories), **organization_sync_totals()},
        "org": settings.GITHUB_ORG,
        "github_url": settings.GITHUB_URL,
        "sync_running": SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists(),
    }
    template = "github/repository_list.html"
    if request.htmx:
        template += "#repository-table"
    return render(request, template, context)


@require_POST
def repository_sync(request: HttpRequest, pk: int) -> HttpResponse:
    repository = get_object_or_404(Repository, pk=pk)
    transaction.on_commit(lambda: sync_repository_task.delay(repository.pk, trigger="manual"))
    if request.htmx:
        return HttpResponse(status=204, headers={"HX-Trigger": "syncQueued"})
    return redirect("home")


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: the database answers. No secrets, no details beyond ok/failing."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        checks["database"] = "failing"
    healthy = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if healthy else "failing", "checks": checks}, status=200 if healthy else 503)
