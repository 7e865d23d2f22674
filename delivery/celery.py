"""The Celery application: Redis broker in production, a filesystem broker in the embedded demo."""

import os
from datetime import datetime, timedelta
from typing import Any

from celery import Celery
from celery import Task as CeleryTask

import delivery.core.broker  # noqa: F401 - registers the demo's filesystem broker with kombu

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "delivery.settings")


class Task(CeleryTask):
    """Every task of Trunkline. A countdown or ETA further than TASK_MAX_COUNTDOWN_SECONDS is cut to it (the task
    runs early, finds it is not yet time, and waits again): Redis would otherwise hand the waiting message to a
    second worker after its visibility timeout. Retries come through here too (`Task.retry` applies a signature
    of the task)."""

    def apply_async(self, args: Any = None, kwargs: Any = None, *more: Any, **options: Any) -> Any:
        from django.conf import settings
        from django.utils import timezone

        longest = settings.TASK_MAX_COUNTDOWN_SECONDS
        if options.get("countdown") is not None and options["countdown"] > longest:
            options["countdown"] = longest
        eta = options.get("eta")
        if isinstance(eta, datetime) and eta.tzinfo is not None and eta > timezone.now() + timedelta(seconds=longest):
            options["eta"] = timezone.now() + timedelta(seconds=longest)
        return super().apply_async(args, kwargs, *more, **options)


app = Celery("delivery", task_cls=Task)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
