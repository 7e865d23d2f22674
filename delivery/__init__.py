"""Trunkline: delivery visibility for trunk-based teams."""

from delivery.celery import app as celery_app

__all__ = ["celery_app"]
