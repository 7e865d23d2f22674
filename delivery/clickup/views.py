"""ClickUp's webhook endpoint: verify the signature, store, queue, answer (processing happens in a task)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from delivery.clickup.webhooks import MAX_BODY_BYTES, SIGNATURE_HEADER, delivery_receive, signature_valid
from delivery.core.http import webhook_answer, webhook_body
from delivery.core.payloads import MalformedDelivery


@login_not_required
@csrf_exempt
@require_POST
def clickup_webhook(request: HttpRequest) -> JsonResponse:
    """A bad or missing signature gets 401 and changes nothing; a signed body that is not a task's delivery 400."""
    body = webhook_body(
        request,
        secret=settings.CLICKUP_WEBHOOK_SECRET,
        setting="CLICKUP_WEBHOOK_SECRET",
        limit=MAX_BODY_BYTES,
        header=SIGNATURE_HEADER,
        signed=signature_valid,
    )
    if isinstance(body, JsonResponse):
        return body
    try:
        receipt = delivery_receive(body=body)
    except MalformedDelivery as exc:
        return webhook_answer(400, str(exc))
    status = 202 if receipt.status in ("queued", "requeued") else 200
    return webhook_answer(status, receipt.detail or receipt.status, status=receipt.status, delivery=receipt.delivery_id)
