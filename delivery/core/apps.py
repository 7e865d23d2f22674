from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Project-wide plumbing: the health check, the error pages, the embedded demo."""

    name = "delivery.core"
    label = "core"
