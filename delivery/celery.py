"""The Celery application: Redis broker in production, a filesystem broker in the embedded demo."""

import os

from celery import Celery

import delivery.core.broker  # noqa: F401 - registers the demo's filesystem broker with kombu

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "delivery.settings")

app = Celery("delivery")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
