from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Plumbing that belongs to no domain: the health check, queueing by name, links, the error pages."""

    name = "delivery.core"
    label = "core"
